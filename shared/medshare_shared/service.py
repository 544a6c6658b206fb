"""Wiring every service shares: one FastAPI app that also runs the Kafka broker.

The app's lifespan starts the broker (and the service's own start-up work) and
stops it cleanly on shutdown, so SIGTERM leaves the consumer group in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import uvicorn
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker

from medshare_shared.health import ReadinessCheck, health_router

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


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
    app.include_router(health_router(checks))
    for router in routers:
        app.include_router(router)
    return app


def broker_check(broker: KafkaBroker) -> ReadinessCheck:
    async def check() -> bool:
        return bool(await broker.ping(timeout=2.0))

    return check


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the app until SIGINT/SIGTERM (uvicorn handles both and runs the lifespan exit)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
