"""Kafka wiring shared by the services: broker factory, topic creation, publishing.

Producers are idempotent (the broker de-duplicates producer retries) and every
record carries a W3C `traceparent` header so one trace id follows a record across
services. Records are keyed so related events keep their order in one partition.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from medshare_shared.events import EventEnvelope
from medshare_shared.metrics import EVENTS_PRODUCED
from medshare_shared.settings import CommonSettings

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 3


def make_broker(settings: CommonSettings, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        logger=None,
    )


async def ensure_topics(
    settings: CommonSettings, names: list[str], partitions: int = DEFAULT_PARTITIONS
) -> None:
    """Create topics that do not exist yet (safe to run from every replica at start)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=1)
            for name in names
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a replica raced us to it
                await admin.create_topics(missing)
    finally:
        await admin.close()


def traceparent(trace_id: str) -> str:
    span_id = os.urandom(8).hex()
    return f"00-{trace_id[:32].rjust(32, '0')}-{span_id}-01"


def trace_id_from_headers(headers: dict[str, Any]) -> str | None:
    value = headers.get("traceparent")
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str) and value.count("-") == 3:
        return value.split("-")[1]
    return None


async def publish_event(
    broker: KafkaBroker,
    topic: str,
    event: EventEnvelope[Any],
    *,
    key: str,
    service: str,
) -> None:
    """Publish and wait for the broker's acknowledgement (acks=all)."""
    # A pydantic model goes out as JSON with content-type application/json.
    await broker.publish(
        event,
        topic=topic,
        key=key.encode(),
        headers={"traceparent": traceparent(event.trace_id), "event-type": event.event_type},
    )
    EVENTS_PRODUCED.labels(service, topic).inc()
