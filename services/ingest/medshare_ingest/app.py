"""Ingest wiring: HTTP doors, the C-STORE SCP, the Kafka door, the raw-zone bucket."""

from __future__ import annotations

import asyncio

import urllib3
from fastapi import FastAPI, HTTPException
from minio import Minio

from medshare_ingest.doors.dimse.scp import StoreSCP
from medshare_ingest.doors.http.requests import http_error_as_json
from medshare_ingest.doors.http.routes import ingest_router
from medshare_ingest.doors.kafka.consumer import SubmittedHandler, declare_kafka_door
from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.settings import IngestSettings
from medshare_ingest.submissions import SubmissionDesk
from medshare_ingest.validation import quiet_dicom_libraries
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app


def raw_zone_store(settings: IngestSettings) -> ObjectStore:
    """The object store with a connection pool as large as the I/O thread pool (minio's
    default keeps 10 and reconnects for every call beyond that) and bounded timeouts."""
    store = ObjectStore.from_settings(settings)
    pool = urllib3.PoolManager(
        maxsize=settings.ingest_io_threads,
        timeout=urllib3.Timeout(connect=10, read=settings.ingest_store_timeout_s),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    store.client = Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        http_client=pool,
    )
    return store


def create_app(settings: IngestSettings) -> FastAPI:
    quiet_dicom_libraries()
    broker = make_broker(settings, client_id="medshare-ingest")
    store = raw_zone_store(settings)
    topics = settings.topics
    limits = settings.limits
    desk = SubmissionDesk(
        store,
        broker,
        topics,
        settings.raw_bucket,
        publish_timeout_s=settings.ingest_publish_timeout_s,
        store_timeout_s=settings.ingest_store_timeout_s,
        io_threads=settings.ingest_io_threads,
    )
    handler = SubmittedHandler(desk, broker, topics, limits, settings.ingest_publish_timeout_s)
    declare_kafka_door(broker, handler, settings)

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
                limits,
                peers=settings.dimse_allowed_peers,
                # a store, a publish and the marker, each bounded, plus slack
                accept_timeout_s=settings.ingest_publish_timeout_s
                + 2 * settings.ingest_store_timeout_s
                + 5,
            )
            server.start(settings.http_host, settings.dimse_port)
            scp.append(server)

    async def stop_scp() -> None:
        for server in scp:
            await asyncio.to_thread(server.stop)
        desk.close()

    app = create_service_app(
        title="medshare ingest",
        broker=broker,
        checks={"kafka": broker_check(broker), "object_store": store.ping},
        startup=[prepare],
        shutdown=[stop_scp],
        background=[lag_watcher(settings, "ingest", settings.consumer_group, [topics.submitted])],
        warnings=settings.unsafe_modes,
        routers=[
            ingest_router(
                desk,
                InstitutionDirectory.from_file(settings.ingest_api_keys_file),
                limits,
                settings.ingest_retry_after_s,
            )
        ],
    )
    app.add_exception_handler(HTTPException, http_error_as_json)
    app.state.broker = broker
    app.state.desk = desk
    return app
