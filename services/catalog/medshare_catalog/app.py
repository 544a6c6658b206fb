"""Catalog wiring: three topic consumers, MongoDB, the HTTP API."""

from __future__ import annotations

from fastapi import FastAPI
from faststream import AckPolicy

from medshare_catalog.handlers import CatalogHandlers
from medshare_catalog.records import RecordStore
from medshare_catalog.routes import records_router
from medshare_catalog.settings import CatalogSettings
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.mongo import mongo_client, mongo_database, mongo_ping
from medshare_shared.service import broker_check, create_service_app


def create_app(settings: CatalogSettings) -> FastAPI:
    broker = make_broker(settings, client_id="medshare-catalog")
    client = mongo_client(settings)
    records = RecordStore(mongo_database(client, settings)[settings.records_collection])
    topics = settings.topics
    handlers = CatalogHandlers(records, topics)
    for topic, handler in (
        (topics.deidentified, handlers.on_deidentified),
        (topics.inferred, handlers.on_inferred),
        (topics.quarantined, handlers.on_quarantined),
    ):
        broker.subscriber(
            topic,
            group_id=settings.consumer_group,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.consumer_session_timeout_ms,
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )(handler)

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await records.ensure_indexes()

    async def close() -> None:
        await client.close()

    async def mongo_ready() -> bool:
        return await mongo_ping(client)

    return create_service_app(
        title="medshare catalog",
        broker=broker,
        checks={"kafka": broker_check(broker), "mongo": mongo_ready},
        startup=[prepare],
        shutdown=[close],
        routers=[records_router(records)],
        background=[
            lag_watcher(
                settings,
                "catalog",
                settings.consumer_group,
                [topics.deidentified, topics.inferred, topics.quarantined],
            )
        ],
    )
