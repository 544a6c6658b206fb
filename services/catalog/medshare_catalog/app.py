"""Catalog wiring: three topic consumers, MongoDB, the shared zone, the HTTP API and page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from faststream import AckPolicy

from medshare_catalog.access import Access
from medshare_catalog.admin import admin_router
from medshare_catalog.audit import AuditLog
from medshare_catalog.dataset_routes import dataset_router
from medshare_catalog.datasets import DatasetStore
from medshare_catalog.dicomweb import dicomweb_router
from medshare_catalog.directory import Directory
from medshare_catalog.handlers import CatalogHandlers
from medshare_catalog.records import RecordStore
from medshare_catalog.review import review_router
from medshare_catalog.routes import records_router
from medshare_catalog.search import Searcher
from medshare_catalog.settings import CatalogSettings
from medshare_catalog.shared_zone import SharedZone
from medshare_catalog.tokens import TokenIssuer
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.mongo import mongo_client, mongo_database, mongo_ping
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app
from medshare_shared.settings import SettingsError

WEB_DIR = Path(__file__).parent / "web"


def create_app(settings: CatalogSettings) -> FastAPI:
    try:
        issuer = TokenIssuer(settings.jwt_key())
    except ValueError as error:
        raise SettingsError(f"invalid configuration: {error}") from None
    broker = make_broker(settings, client_id="medshare-catalog")
    client = mongo_client(settings)
    database = mongo_database(client, settings)
    store = ObjectStore.from_settings(settings)
    records = RecordStore(
        database[settings.records_collection],
        gates=settings.release_gates,
        require_gate_verdict=settings.catalog_require_gate_verdict,
        objects=store,
        shared_bucket=settings.shared_bucket,
    )
    directory = Directory(database)
    audit_log = AuditLog(database["audit"])
    datasets = DatasetStore(database)
    searcher = Searcher(records.collection)
    access = Access(issuer, directory, audit_log)
    zone = SharedZone(
        store, settings.shared_bucket, timedelta(seconds=settings.catalog_download_expiry_s)
    )
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
        await store.ensure_bucket(settings.shared_bucket)
        for part in (records, directory, audit_log, datasets):
            await part.ensure_indexes()

    async def close() -> None:
        await client.close()

    async def mongo_ready() -> bool:
        return await mongo_ping(client)

    app = create_service_app(
        title="medshare catalog",
        broker=broker,
        checks={"kafka": broker_check(broker), "mongo": mongo_ready, "s3": store.ping},
        startup=[prepare],
        shutdown=[close],
        routers=[
            records_router(
                records,
                searcher,
                access,
                zone,
                settings.catalog_thumbnail_px,
                settings.catalog_max_page,
            ),
            review_router(records, access),
            dataset_router(
                datasets,
                searcher,
                directory,
                access,
                zone,
                settings.catalog_min_k,
                settings.catalog_min_l,
            ),
            dicomweb_router(records.collection, zone, access),
            admin_router(directory, audit_log, access),
        ],
        background=[
            lag_watcher(
                settings,
                "catalog",
                settings.consumer_group,
                [topics.deidentified, topics.inferred, topics.quarantined],
            )
        ],
    )
    # The page holds no data: it signs in with a token and calls the API like any client.
    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    return app
