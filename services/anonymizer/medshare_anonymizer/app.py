"""Anonymizer wiring: the records.ingested consumer, both zones, the secret key."""

from __future__ import annotations

from fastapi import FastAPI

from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.handlers import AnonymizerHandler
from medshare_anonymizer.settings import AnonymizerSettings
from medshare_anonymizer.vault import pseudonym_keys
from medshare_shared.delivery import group_subscriber
from medshare_shared.kafka import ensure_topics, make_broker
from medshare_shared.lag import lag_watcher
from medshare_shared.object_store import ObjectStore
from medshare_shared.service import broker_check, create_service_app


def create_app(settings: AnonymizerSettings) -> FastAPI:
    broker = make_broker(settings, client_id="medshare-anonymizer")
    store = ObjectStore.from_settings(settings)
    topics = settings.topics
    deidentifier = Deidentifier(
        keys=pseudonym_keys(settings),  # HMAC by default, the vault when configured
        dicom_options=settings.option_set(),
        case_report_date_mode=settings.case_report_date_mode,
        dicom_bounds=settings.dicom_bounds,
    )
    handler = AnonymizerHandler(
        deidentifier,
        store,
        broker,
        topics,
        settings.shared_bucket,
        held_bucket=settings.held_bucket,
    )
    group_subscriber(broker, topics.ingested, settings=settings)(handler.on_ingested)

    async def prepare() -> None:
        await ensure_topics(settings, topics.all())
        await store.ensure_bucket(settings.shared_bucket)
        await store.ensure_bucket(settings.held_bucket)

    return create_service_app(
        title="medshare anonymizer",
        broker=broker,
        checks={"kafka": broker_check(broker), "object_store": store.ping},
        startup=[prepare],
        background=[
            lag_watcher(settings, "anonymizer", settings.consumer_group, [topics.ingested])
        ],
    )
