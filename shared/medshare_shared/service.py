"""Wiring every service shares: one FastAPI app that also runs the Kafka broker.

The app's lifespan starts the broker (and the service's own start-up work) and
stops it cleanly on shutdown. On SIGTERM uvicorn stops taking requests and runs
the lifespan exit: background tasks are cancelled, then `broker.stop()` lets the
message in hand finish (up to the broker's graceful timeout; what does not finish
is not committed and is redone by the next owner), commits, and leaves the
consumer group, so its partitions move at once instead of after a session timeout.

An HTTP request that fails because a dependency is away is answered 503 with
Retry-After (the client should retry), never 500 and never "accepted".

At start-up a dependency that is away (a server restarting, or not up yet when the
whole deployment starts) is waited for, up to `startup_deadline_s`; after that the
service exits and its orchestrator's restart policy takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
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
STARTUP_DEADLINE_S = 120.0
STARTUP_RETRY_S = 2.0


def create_service_app(
    *,
    title: str,
    broker: KafkaBroker,
    checks: dict[str, ReadinessCheck],
    startup: Sequence[Hook] = (),
    shutdown: Sequence[Hook] = (),
    routers: Sequence[APIRouter] = (),
    background: Sequence[Hook] = (),
    startup_deadline_s: float = STARTUP_DEADLINE_S,
    warnings: Sequence[str] = (),
) -> FastAPI:
    """`background` tasks (lag watchers, model refreshers) run until shutdown.

    `startup` hooks must be safe to run again: one that fails because a dependency
    is away is retried until `startup_deadline_s`. `warnings` (an unsafe mode) are
    logged at start and shown by `/readyz`.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for warning in warnings:
            log.warning("UNSAFE CONFIGURATION: %s", warning)  # loud on purpose, every start
        deadline = asyncio.get_running_loop().time() + startup_deadline_s
        for hook in startup:
            await _retrying(hook, deadline)
        await _retrying(_start_over(broker), deadline)
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
    app.include_router(health_router(checks, warnings=warnings))
    for router in routers:
        app.include_router(router)
    return app


def _start_over(broker: KafkaBroker) -> Hook:
    """Start the broker; a start that failed half-way is undone so the next one is whole."""

    async def start() -> None:
        try:
            await broker.start()
        except Exception:
            with contextlib.suppress(Exception):
                await broker.stop()
            raise

    return start


async def _retrying(step: Hook, deadline: float) -> None:
    """Run a start-up step, again while it fails for a dependency that is away."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            await step()
            return
        except Exception as error:
            if not is_dependency_error(error) or loop.time() + STARTUP_RETRY_S > deadline:
                raise
            log.warning(
                "dependency unavailable at start-up, retrying",
                extra={"error": describe_error(error)},
            )
        await asyncio.sleep(STARTUP_RETRY_S)


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
