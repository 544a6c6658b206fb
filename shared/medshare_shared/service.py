"""Wiring every service shares: one FastAPI app that also runs the Kafka broker.

The app's lifespan starts the broker (and the service's own start-up work) and
stops it cleanly on shutdown. On SIGTERM uvicorn stops taking requests and runs
the lifespan exit: background tasks are cancelled, then `broker.stop()` lets the
message in hand finish (up to the broker's graceful timeout; what does not finish
is not committed and is redone by the next owner), commits, and leaves the
consumer group, so its partitions move at once instead of after a session timeout.

An HTTP request that fails because a dependency is away is answered 503 with
Retry-After (the client should retry), never 500 and never "accepted".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import uvicorn
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from minio.error import S3Error

from medshare_shared.consumer import DEPENDENCY_ERRORS, describe_error, is_dependency_error
from medshare_shared.health import ReadinessCheck, health_router

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
RETRY_AFTER_S = 5


def create_service_app(
    *,
    title: str,
    broker: KafkaBroker,
    checks: dict[str, ReadinessCheck],
    startup: Sequence[Hook] = (),
    shutdown: Sequence[Hook] = (),
    routers: Sequence[APIRouter] = (),
    background: Sequence[Hook] = (),
) -> FastAPI:
    """`background` tasks (lag watchers, model refreshers) run until shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for hook in startup:
            await hook()
        await broker.start()
        tasks = [asyncio.ensure_future(task()) for task in background]
        log.info("service started", extra={"title": title})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await broker.stop()
            for hook in shutdown:
                await hook()
            log.info("service stopped", extra={"title": title})

    app = FastAPI(title=title, lifespan=lifespan)
    # Exact classes are handled quietly; `Exception` (Starlette re-raises after it, for
    # the server's log) still catches outages wrapped in a service's own error.
    for error_class in (*DEPENDENCY_ERRORS, S3Error, KafkaError, Exception):
        app.add_exception_handler(error_class, _unavailable_or_error)
    app.include_router(health_router(checks))
    for router in routers:
        app.include_router(router)
    return app


async def _unavailable_or_error(request: Request, error: Exception) -> JSONResponse:
    """Outages become 503 + Retry-After; anything else a 500 that names only the type."""
    if is_dependency_error(error):
        log.warning("dependency unavailable", extra={"error": describe_error(error)})
        return JSONResponse(
            {"error": "a dependency is unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    route = getattr(request.scope.get("route"), "path", "?")  # the template, not the ids in it
    log.error("request failed", extra={"error": describe_error(error), "route": route})
    return JSONResponse({"error": "internal error"}, status_code=500)


def broker_check(broker: KafkaBroker) -> ReadinessCheck:
    async def check() -> bool:
        return bool(await broker.ping(timeout=2.0))

    return check


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the app until SIGINT/SIGTERM (uvicorn handles both and runs the lifespan exit)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
