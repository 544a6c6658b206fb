"""`/healthz` (the process runs), `/readyz` (every dependency answers) and `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(
    checks: dict[str, ReadinessCheck], timeout_s: float = 3.0, warnings: Sequence[str] = ()
) -> APIRouter:
    """`warnings` (e.g. an unsafe development mode) are shown in every `/readyz` answer."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                ok = await asyncio.wait_for(check(), timeout_s)
                results[name] = "ok" if ok else "down"
            except Exception as error:  # any failure means not ready; say which
                results[name] = f"down: {type(error).__name__}"
        ready = all(value == "ok" for value in results.values())
        body: dict[str, object] = {"ready": ready, "dependencies": results}
        if warnings:
            body["warnings"] = list(warnings)
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
