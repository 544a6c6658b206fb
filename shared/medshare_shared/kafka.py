"""Kafka wiring shared by the services: broker factory, topic creation, publishing.

Producers are idempotent (`enable_idempotence`, `acks=all`: the broker de-duplicates
the producer's own retries, so a resend after a lost acknowledgement is not a second
record) and every record carries a W3C `traceparent` header so one trace id follows
a record across services. Records are keyed so related events keep their order in
one partition.

Every subscriber of a broker made here runs under `DeliveryMiddleware`
(medshare_shared.consumer): back-pressure on outages, bounded retries, and a dead
letter on `records.rejected` for what keeps failing. Subscribers are declared with
`AckPolicy.NACK_ON_ERROR`: the offset is committed after the handler returned and
sought back when it raised, never before the outputs are durable.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from medshare_shared.consumer import (
    DeadLetterRequest,
    DeliveryPolicy,
    header,
    peek_event,
    trace_id_from_traceparent,
)
from medshare_shared.events import EventEnvelope, RecordRejected, deterministic_id, envelope
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_PRODUCED
from medshare_shared.settings import CommonSettings
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 3
# In-flight handling may finish this long after SIGTERM; then it is handed back
# (not committed) and the next owner of the partition redoes it. Below the 15 s a
# supervisor (tests, compose's stop_grace_period) waits before SIGKILL.
GRACEFUL_TIMEOUT_S = 10.0


def service_name(client_id: str) -> str:
    return client_id.removeprefix("medshare-")


def make_broker(settings: CommonSettings, client_id: str) -> KafkaBroker:
    service = service_name(client_id)
    topics = settings.topics
    broker_ref: list[KafkaBroker] = []

    async def publish_dead_letter(request: DeadLetterRequest) -> None:
        await publish_dead_letter_for(broker_ref[0], topics, service, request)

    policy = DeliveryPolicy(service=service, publish_dead_letter=publish_dead_letter)
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        logger=None,
        graceful_timeout=GRACEFUL_TIMEOUT_S,
        middlewares=[policy.middleware],
    )
    broker_ref.append(broker)
    return broker


async def publish_dead_letter_for(
    broker: KafkaBroker, topics: Topics, service: str, request: DeadLetterRequest
) -> None:
    """A `records.rejected` event pointing at the original record (never its content)."""
    record = request.record
    peeked = peek_event(record)
    position = f"{record.topic}/{record.partition}/{record.offset}"
    trace_id = request.trace_id or trace_id_from_traceparent(header(record, "traceparent"))
    rejected = envelope(
        RecordRejected(
            stage=service,
            reason=request.reason,
            record_id=peeked.get("record_id"),
            attempts=request.attempts,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_event_id=peeked.get("event_id"),
        ),
        event_type="records.rejected",
        producer=service,
        trace_id=trace_id,
        # One dead letter per original record and stage, however often it is redone.
        event_id=deterministic_id("records.rejected", service, position),
    )
    await publish_event(
        broker,
        topics.rejected,
        rejected,
        key=peeked.get("record_id") or position,
        service=service,
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
    """A W3C trace context header for `trace_id` with a fresh span id."""
    span_id = os.urandom(8).hex()
    return f"00-{trace_id[:32].rjust(32, '0')}-{span_id}-01"


def trace_id_from_headers(headers: dict[str, Any]) -> str | None:
    return trace_id_from_traceparent(headers.get("traceparent"))


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
    if current_trace_id.get() is None:
        # An HTTP request has no trace until its first event: later log lines join it.
        current_trace_id.set(event.trace_id)
