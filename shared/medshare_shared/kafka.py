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

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
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
from medshare_shared.kafka_auth import broker_security, client_options
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
        security=broker_security(),
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
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **client_options())
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


def event_headers(event: EventEnvelope[Any]) -> dict[str, str]:
    """What every published event carries besides its JSON value."""
    return {"traceparent": traceparent(event.trace_id), "event-type": event.event_type}


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
        headers=event_headers(event),
    )
    EVENTS_PRODUCED.labels(service, topic).inc()
    if current_trace_id.get() is None:
        # An HTTP request has no trace until its first event: later log lines join it.
        current_trace_id.set(event.trace_id)


class BatchPublisher:
    """Many events to one topic at once: every record queued on aiokafka's producer, then
    every acknowledgement awaited. For handlers that answer a whole batch: FastStream's
    publish path awaits command objects and middlewares for each message, which costs
    more than the batch's own work. The producer settings and the records are those of
    `make_broker` and `publish_event`: idempotent, acks=all, JSON with its content type,
    the traceparent and event-type headers, keyed, counted in the produced-events metric.
    """

    def __init__(self, bootstrap: str, topic: str, *, service: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.service = service
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is not None:  # started already (a start-up step run again)
            return
        # Created here, not in __init__: aiokafka binds to the running event loop.
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            enable_idempotence=True,
            acks="all",
            **client_options(),
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("BatchPublisher.start() was not awaited")
        return self._producer

    async def publish(self, events: Sequence[tuple[str, EventEnvelope[Any]]]) -> None:
        """Publish (key, event) pairs; returns once the broker acknowledged all of them."""
        pending: list[asyncio.Future[Any]] = []
        for key, event in events:
            headers = [("content-type", b"application/json")]
            headers += [(name, value.encode()) for name, value in event_headers(event).items()]
            pending.append(
                await self.producer.send(
                    self.topic, event.model_dump_json().encode(), key=key.encode(), headers=headers
                )
            )
        await asyncio.gather(*pending)
        if pending:
            EVENTS_PRODUCED.labels(self.service, self.topic).inc(len(pending))
