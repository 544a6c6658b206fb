"""Ingest wiring: HTTP doors, the Kafka door, the raw-zone bucket."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from faststream import AckPolicy

from medshare_ingest.dimse import StoreSCP
from medshare_ingest.handlers import SubmittedHandler
from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.routes import ingest_router
from medshare_ingest.settings import IngestSettings
from medshare_ingest.submissions import SubmissionDesk
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app


def create_app(settings: IngestSettings) -> FastAPI:
    broker = make_broker(settings, client_id="medshare-ingest")
    store = ObjectStore.from_settings(settings)
    topics = settings.topics
    desk = SubmissionDesk(store, broker, topics, settings.raw_bucket)
    handler = SubmittedHandler(desk, broker, topics)
    broker.subscriber(
        topics.submitted,
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.consumer_session_timeout_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )(handler.on_submitted)

    scp: list[StoreSCP] = []

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await store.ensure_bucket(settings.raw_bucket)
        if settings.dimse_port:
            server = StoreSCP(
                desk,
                asyncio.get_running_loop(),
                settings.dimse_ae_title,
                settings.dimse_allowed_aes,
            )
            server.start(settings.http_host, settings.dimse_port)
            scp.append(server)

    async def stop_scp() -> None:
        for server in scp:
            await asyncio.to_thread(server.stop)

    return create_service_app(
        title="medshare ingest",
        broker=broker,
        checks={"kafka": broker_check(broker), "object_store": store.ping},
        startup=[prepare],
        shutdown=[stop_scp],
        routers=[
            ingest_router(
                desk,
                InstitutionDirectory.from_file(settings.ingest_api_keys_file),
                settings.max_object_bytes,
                settings.max_instances_per_request,
            )
        ],
    )
