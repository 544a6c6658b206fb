"""`medshare replay rejected`: re-submit dead letters to their source topic after a fix.

A dead letter on `records.rejected` names its original by topic, partition, offset
and event id (it never holds the content). Replay reads each original back from
its topic and publishes the very same bytes (key, value, headers) to that topic
again, so the replayed event keeps its deterministic event id and every
downstream write stays idempotent.

A second replay must not resend what the first one did. Each resend is recorded in
a journal topic (`<prefix>records.rejected.replayed`, compacted, keyed by the dead
letter's position) and the resend and its journal entry are written in one Kafka
transaction: after a crash either both are visible to read-committed readers or
neither, so the journal says exactly what was resent. This is the one place in
medshare where a transaction buys something (see docs/reliability.md): there is a
single writer, fenced by a stable transactional id, and no side effect outside
Kafka. A dead letter that fails again after its replay is a new dead letter at a
new position, and the next replay picks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import ValidationError

from medshare_shared.consumer import peek_event
from medshare_shared.events import RejectedEvent
from medshare_shared.settings import CommonSettings, load_settings

JOURNAL_SUFFIX = ".replayed"
REPLAY_HEADER = "medshare-replay-of"
BATCH = 100
# A crashed replay's open transaction blocks read-committed consumers of the source
# topic until it is aborted: by the next replay at once (same transactional id), or
# by the broker after this long.
TRANSACTION_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class DeadLetter:
    position: str  # topic/partition/offset of the dead letter itself
    event: RejectedEvent


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)  # dead-letter positions
    already_replayed: int = 0
    filtered_out: int = 0
    same_original: int = 0
    missing_original: list[str] = field(default_factory=list)
    unreadable: int = 0


def journal_topic(settings: CommonSettings) -> str:
    return settings.topics.rejected + JOURNAL_SUFFIX


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """An ISO time (`2024-05-01T10:00`, UTC if no zone) or an age (`30m`, `2h`, `7d`)."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter("expected an ISO time or an age like 30m, 2h, 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _consumer(settings: CommonSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )


async def read_topic(settings: CommonSettings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every committed record of `topic` up to its current end."""
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not partitions:
        return []
    consumer = _consumer(settings)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, batch in batches.items():
                records.extend(record for record in batch if record.offset < ends[tp])
        return records
    finally:
        await consumer.stop()


async def partitions_of(settings: CommonSettings, topic: str) -> list[int]:
    """The partition numbers of `topic` (none when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        partition["partition"]
        for entry in described
        if entry["topic"] == topic and not entry.get("error_code")
        for partition in entry["partitions"]
    )


def position_of(record: ConsumerRecord[Any, Any]) -> str:
    return f"{record.topic}/{record.partition}/{record.offset}"


async def dead_letters(settings: CommonSettings, report: ReplayReport) -> list[DeadLetter]:
    found = []
    for record in await read_topic(settings, settings.topics.rejected):
        try:
            event = RejectedEvent.model_validate_json(record.value)
        except (ValidationError, ValueError):
            report.unreadable += 1
            continue
        found.append(DeadLetter(position_of(record), event))
    return found


async def replayed_positions(settings: CommonSettings) -> set[str]:
    return {
        record.key.decode()
        for record in await read_topic(settings, journal_topic(settings))
        if record.key is not None and record.value is not None  # a tombstone un-journals
    }


async def fetch_originals(
    settings: CommonSettings, letters: Iterable[DeadLetter]
) -> dict[str, ConsumerRecord[Any, Any]]:
    """The original record of each dead letter, by the dead letter's position."""
    found: dict[str, ConsumerRecord[Any, Any]] = {}
    by_event_id: dict[tuple[str, str], list[str]] = {}
    letters = list(letters)
    if not letters:
        return found  # (an aiokafka consumer stopped right after start raises)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        for letter in letters:
            event = letter.event.payload
            topic = event.source_topic
            if topic is None:
                continue
            if event.source_partition is None or event.source_offset is None:
                if event.source_event_id:
                    by_event_id.setdefault((topic, event.source_event_id), []).append(
                        letter.position
                    )
                continue
            record = await _read_at(consumer, topic, event.source_partition, event.source_offset)
            if record is not None and _same_event(record, event.source_event_id):
                found[letter.position] = record
    finally:
        await consumer.stop()
    for topic in {topic for topic, _ in by_event_id}:  # older dead letters: find by event id
        for record in await read_topic(settings, topic):
            event_id = peek_event(record).get("event_id")
            for position in by_event_id.get((topic, event_id or ""), []):
                found.setdefault(position, record)
    return found


async def _read_at(
    consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int
) -> ConsumerRecord[Any, Any] | None:
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    consumer.seek(tp, offset)
    batches = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    for record in batches.get(tp, []):
        return record if record.offset == offset else None  # gone (retention, compaction)
    return None


def _same_event(record: ConsumerRecord[Any, Any], event_id: str | None) -> bool:
    found = peek_event(record).get("event_id")
    # Raw-bytes submissions carry no envelope; their position is the reference.
    return event_id is None or found is None or found == event_id


async def ensure_journal(settings: CommonSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        name = journal_topic(settings)
        if name not in set(await admin.list_topics()):
            topic = NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
    finally:
        await admin.close()


def select(
    letters: list[DeadLetter],
    journal: set[str],
    report: ReplayReport,
    stage: str | None,
    since: datetime | None,
) -> list[DeadLetter]:
    chosen: list[DeadLetter] = []
    originals: set[tuple[Any, ...]] = set()
    for letter in letters:
        event = letter.event
        if (stage and event.payload.stage != stage) or (since and event.occurred_at < since):
            report.filtered_out += 1
            continue
        if letter.position in journal:
            report.already_replayed += 1
            continue
        payload = event.payload
        original = (
            payload.source_topic,
            payload.source_partition,
            payload.source_offset,
            payload.source_event_id,
        )
        if original in originals:  # one original dead-lettered twice (a redelivery)
            report.same_original += 1
            continue
        originals.add(original)
        chosen.append(letter)
    return chosen


async def replay_rejected(
    settings: CommonSettings,
    *,
    stage: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Resend the originals of the dead letters not replayed yet; journal each resend."""
    report = ReplayReport()
    await ensure_journal(settings)
    letters = await dead_letters(settings, report)
    chosen = select(letters, await replayed_positions(settings), report, stage, since)
    originals = await fetch_originals(settings, chosen)
    ready = []
    for letter in chosen:
        if letter.position in originals:
            ready.append(letter)
        else:
            report.missing_original.append(letter.position)
    if dry_run or not ready:
        report.replayed = [letter.position for letter in ready] if dry_run else []
        return report
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        transactional_id=f"medshare-replay-{settings.topic_prefix or 'default'}",
        enable_idempotence=True,
        transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
    )
    await producer.start()  # fences (aborts) a crashed replay's open transaction
    try:
        for start in range(0, len(ready), BATCH):
            batch = ready[start : start + BATCH]
            async with producer.transaction():
                for letter in batch:
                    await _resend(producer, settings, letter, originals[letter.position])
            report.replayed.extend(letter.position for letter in batch)
    finally:
        await producer.stop()
    return report


async def _resend(
    producer: AIOKafkaProducer,
    settings: CommonSettings,
    letter: DeadLetter,
    original: ConsumerRecord[Any, Any],
) -> None:
    headers = [(k, v) for k, v in original.headers or () if k != REPLAY_HEADER]
    headers.append((REPLAY_HEADER, letter.position.encode()))
    await producer.send(original.topic, value=original.value, key=original.key, headers=headers)
    entry = {
        "dead_letter_event_id": str(letter.event.event_id),
        "stage": letter.event.payload.stage,
        "original": position_of(original),
        "replayed_at": datetime.now(UTC).isoformat(),
    }
    await producer.send(
        journal_topic(settings), key=letter.position.encode(), value=json.dumps(entry).encode()
    )


@click.group()
def replay() -> None:
    """Re-submit dead letters after a fix (idempotent: a second replay resends nothing)."""


@replay.command("rejected")
@click.option("--stage", help="only dead letters of this stage (ingest, anonymizer, ...)")
@click.option("--since", help="only dead letters since an ISO time or an age (30m, 2h, 7d)")
@click.option("--dry-run", is_flag=True, help="list what would be replayed, send nothing")
def rejected(stage: str | None, since: str | None, dry_run: bool) -> None:
    """Replay records.rejected: resend each original to its source topic."""
    settings = load_settings(CommonSettings)
    report = asyncio.run(
        replay_rejected(settings, stage=stage, since=parse_since(since), dry_run=dry_run)
    )
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"{verb} {len(report.replayed)} dead letter(s)")
    for position in report.replayed:
        click.echo(f"  {position}")
    click.echo(
        f"already replayed: {report.already_replayed}, filtered out: {report.filtered_out}, "
        f"same original: {report.same_original}, unreadable: {report.unreadable}, "
        f"original missing: {len(report.missing_original)}"
    )
    for position in report.missing_original:
        click.echo(f"  original gone for {position}")
