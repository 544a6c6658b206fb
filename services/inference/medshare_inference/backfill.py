"""Backfill: run one model version over every record already de-identified.

`records.deidentified` is replayed from its first offset to the end offsets seen at the
start, without a consumer group (nothing committed, nothing to clean up, and the
service's own group is untouched). Each record the version applies to goes through the
same BatchRunner as the service and gets a `records.inferred` event for that version,
with the same deterministic event id the service would use, so a backfill that is run
twice, or that overlaps the live service, changes nothing downstream. The catalog keys
results by name@version, so the new version's results appear next to the old ones.

Coverage is what the topic still holds: keep `records.deidentified` with unlimited
retention (retention.ms=-1) where backfills must reach every record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from medshare_inference.publisher import ResultPublisher
from medshare_inference.registry import ModelRegistry, select_models
from medshare_inference.runner import BatchRunner
from medshare_shared.events import DeidentifiedEvent, RecordDeidentified
from medshare_shared.kafka_auth import client_options
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings

# Called with (records read, records to read) after every batch.
Progress = Callable[[int, int], None]


@dataclass
class BackfillReport:
    name: str
    version: str
    read: int = 0
    applicable: int = 0
    published: int = 0
    errors: int = 0
    duplicates: int = 0
    unreadable: int = 0
    seconds: float = 0.0
    error_reasons: dict[str, int] = field(default_factory=dict)


async def topic_partitions(
    bootstrap: str, topic: str, wait_s: float = 10.0
) -> list[TopicPartition]:
    """The topic's partitions, asked of the cluster (a topic created a moment ago may take
    a few hundred milliseconds to be described); empty if it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        deadline = time.monotonic() + wait_s
        while True:
            [described] = await admin.describe_topics([topic])
            numbers = sorted(p["partition"] for p in described.get("partitions", []))
            if numbers or time.monotonic() > deadline:
                return [TopicPartition(topic, number) for number in numbers]
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def _open_topic(
    settings: CommonSettings, topic: str
) -> tuple[AIOKafkaConsumer, dict[TopicPartition, int]]:
    """A group-less consumer at the topic's start, and the end offset to stop at per partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="medshare-backfill",
        **client_options(),
    )
    await consumer.start()
    partitions = await topic_partitions(settings.kafka_bootstrap, topic)
    if not partitions:
        return consumer, {}
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    starts = {tp: await consumer.position(tp) for tp in partitions}
    ends = await consumer.end_offsets(partitions)
    # The snapshot of end offsets is where the backfill stops: records arriving meanwhile
    # are the live service's job.
    return consumer, {tp: end for tp, end in ends.items() if end > starts[tp]}


async def backfill(
    settings: CommonSettings,
    name: str,
    version: str,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> BackfillReport:
    started = time.perf_counter()
    store = ObjectStore.from_settings(settings)
    model = await ModelRegistry(store, settings.models_bucket).load(name, version)  # hash-checked
    topics = settings.topics
    report = BackfillReport(name, version)
    runner = BatchRunner(store)
    publisher = ResultPublisher(settings.kafka_bootstrap, topics.inferred, "medshare-backfill")
    await publisher.start()
    consumer, ends = await _open_topic(settings, topics.deidentified)
    try:
        total = 0
        for tp, end in ends.items():
            total += end - await consumer.position(tp)
        seen: set[str] = set()

        def applies(record: RecordDeidentified) -> list[str]:
            return select_models([model.manifest], record.kind, record.metadata, record.features)

        remaining = dict(ends)
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            events: list[DeidentifiedEvent] = []
            for tp, messages in fetched.items():
                for message in messages:
                    if message.offset >= remaining.get(tp, -1):
                        continue
                    report.read += 1
                    try:
                        event = DeidentifiedEvent.model_validate_json(message.value or b"")
                    except ValidationError:
                        report.unreadable += 1
                        continue
                    if event.payload.record_id in seen:  # a redelivered copy
                        report.duplicates += 1
                        continue
                    seen.add(event.payload.record_id)
                    events.append(event)
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
            outcomes = await runner.run(events, {name: model}, applies)
            await publisher.publish(outcomes)
            report.applicable += len(outcomes)
            report.published += len(outcomes)
            for outcome in outcomes:
                error = outcome.result.get("error")
                if error:
                    report.errors += 1
                    reason = str(error).split(":")[0]
                    report.error_reasons[reason] = report.error_reasons.get(reason, 0) + 1
            if progress is not None:
                progress(report.read, total)
    finally:
        await consumer.stop()
        await publisher.stop()
    report.seconds = time.perf_counter() - started
    return report
