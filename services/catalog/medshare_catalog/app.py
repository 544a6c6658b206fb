"""Catalog wiring: three topic consumers, MongoDB, the shared zone, the HTTP API and page."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from medshare_catalog.api.access import Access
from medshare_catalog.api.admin import admin_router
from medshare_catalog.api.audit_trail import AuditTrail
from medshare_catalog.api.datasets import dataset_router
from medshare_catalog.api.dicomweb import dicomweb_router
from medshare_catalog.api.headers import IntrospectionGate, SecurityHeaders
from medshare_catalog.api.records import records_router
from medshare_catalog.api.review import review_router
from medshare_catalog.datasets.gate import RiskGate
from medshare_catalog.handlers import CatalogHandlers
from medshare_catalog.query.search import Searcher
from medshare_catalog.settings import CatalogSettings
from medshare_catalog.store.agreements import Directory
from medshare_catalog.store.audit import AuditLog
from medshare_catalog.store.datasets import DatasetStore
from medshare_catalog.store.deadline import QueryTimeout
from medshare_catalog.store.held_zone import HeldZone
from medshare_catalog.store.principals import Principals
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.shared_zone import SharedZone
from medshare_catalog.tokens import TokenIssuer, max_ttls
from medshare_catalog.web import mount_page
from medshare_shared.delivery import group_subscriber
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.mongo import mongo_client, mongo_database, mongo_ping
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app
from medshare_shared.settings import SettingsError

log = logging.getLogger(__name__)


def create_app(settings: CatalogSettings) -> FastAPI:
    try:
        issuer = TokenIssuer(
            settings.jwt_key(),
            max_ttls(settings.catalog_token_max_ttl_s, settings.catalog_admin_token_max_ttl_s),
        )
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
    principals = Principals(database)
    datasets = DatasetStore(database)
    searcher = Searcher(
        records.collection,
        exact_total_up_to=settings.catalog_exact_total_up_to,
        facet_model=records.facets,
    )
    access = Access(issuer, directory, principals)
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
        group_subscriber(broker, topic, settings=settings)(handler)

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await store.ensure_bucket(settings.shared_bucket)
        for part in (records, directory, audit_log, datasets, principals):
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
                settings.catalog_small_cell,
            ),
            review_router(
                records,
                access,
                zone,
                HeldZone(store, settings.held_bucket, settings.shared_bucket),
                settings.catalog_thumbnail_px,
            ),
            dataset_router(
                datasets,
                RiskGate(
                    datasets, searcher, directory, settings.catalog_min_k, settings.catalog_min_l
                ),
                directory,
                access,
                zone,
            ),
            dicomweb_router(records, zone, access),
            admin_router(directory, audit_log, access, principals),
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
    mount_page(app)
    guard(app, settings, audit_log)
    return app


def guard(app: FastAPI, settings: CatalogSettings, audit_log: AuditLog) -> None:
    """Innermost first: the introspection gate, the audit trail, the security headers."""
    secret = settings.introspection_key()
    if not secret:
        log.warning(
            "development mode: /metrics, /openapi.json and /docs are open; "
            "set MEDSHARE_CATALOG_INTROSPECTION_TOKEN_FILE in deployment"
        )
    app.add_middleware(IntrospectionGate, secret=secret)
    app.add_middleware(
        AuditTrail, audit_log=audit_log, query_time_limit_s=settings.catalog_query_timeout_s
    )
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(QueryTimeout, _timed_out)
    app.add_exception_handler(RequestValidationError, _invalid)


async def _timed_out(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})


async def _invalid(_: Request, error: Exception) -> JSONResponse:
    """A short reason by field, never the input echoed back (it may be anything)."""
    assert isinstance(error, RequestValidationError)
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(parts)}, status_code=422)
