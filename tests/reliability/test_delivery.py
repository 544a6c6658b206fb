"""The shared delivery rules on a real broker: dead letters, back-pressure, replay.

Each test runs a FastStream broker made by `make_broker` (as every service does)
in this process, with its own topics, and checks what ends up on the topics and in
the consumer group's committed offsets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from medshare_infra.replay import replay_rejected
from medshare_shared.events import IngestedEvent, RecordIngested, deterministic_id, envelope
from medshare_shared.kafka import ensure_topics, make_broker, publish_event
from medshare_shared.settings import CommonSettings
from tests.conftest import unique
from tests.reliability.harness import read_topic

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
async def settings(stack_env: dict[str, str]) -> CommonSettings:
    settings = CommonSettings(
        kafka_bootstrap=stack_env["MEDSHARE_KAFKA_BOOTSTRAP"], topic_prefix=unique("d") + "."
    )
    await ensure_topics(settings, settings.topics.all(), partitions=1)
    return settings


def ingested(record_id: str) -> IngestedEvent:
    event: IngestedEvent = envelope(
        RecordIngested(
            record_id=record_id,
            institution="st-test",
            kind="case_report",
            content_type="application/json",
            sha256="0" * 64,
            size=1,
            raw_bucket="raw",
            raw_key=f"records/st-test/{record_id}",
            received_at=datetime.now(UTC),
        ),
        event_type="records.ingested",
        producer="test",
        trace_id=TRACE,
        event_id=deterministic_id("records.ingested", record_id),
    )
    return event


@pytest.fixture
async def running(settings: CommonSettings) -> AsyncIterator[tuple[KafkaBroker, dict[str, Any]]]:
    """A broker whose handler fails as `state` says, recording every call."""
    broker = make_broker(settings, client_id="medshare-probe")
    state: dict[str, Any] = {"calls": [], "times": [], "fail": {}, "group": unique("g-")}

    @broker.subscriber(
        settings.topics.ingested,
        group_id=state["group"],
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def handle(event: IngestedEvent) -> None:
        record_id = event.payload.record_id
        state["calls"].append(record_id)
        state["times"].append(time.monotonic())
        failing = state["fail"].get(record_id)
        if failing is not None and failing["left"] != 0:
            failing["left"] -= 1
            raise failing["error"]

    await broker.start()
    try:
        yield broker, state
    finally:
        await broker.stop()


async def wait_for(check: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def committed(settings: CommonSettings, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, 0))
    return meta.offset if meta is not None else -1


async def dead_letters(settings: CommonSettings) -> list[dict[str, Any]]:
    env = {"MEDSHARE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    return [json.loads(r["value"]) for r in await read_topic(env, settings.topics.rejected)]


async def test_an_undecodable_record_is_dead_lettered_and_the_next_one_flows(
    settings: CommonSettings, running: tuple[KafkaBroker, dict[str, Any]]
) -> None:
    _, state = running
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        poison = await producer.send_and_wait(
            settings.topics.ingested,
            b'{"payload": {"record_id": "x", "name": "Jane Roe"}}',
            headers=[("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode())],
        )
    finally:
        await producer.stop()
    good = ingested("after-the-poison")
    broker = running[0]
    await publish_event(broker, settings.topics.ingested, good, key="k", service="test")

    await wait_for(lambda: "after-the-poison" in state["calls"])
    letters = await dead_letters(settings)
    assert len(letters) == 1
    letter = letters[0]
    assert letter["trace_id"] == TRACE  # from the poison's traceparent header
    payload = letter["payload"]
    assert payload["stage"] == "probe"
    assert payload["attempts"] == 3
    assert (payload["source_topic"], payload["source_partition"], payload["source_offset"]) == (
        settings.topics.ingested,
        poison.partition,
        poison.offset,
    )
    assert payload["reason"].startswith("invalid event:")
    assert "Jane" not in json.dumps(letter)  # the reason names fields, never values
    await wait_for_commit(settings, state["group"], poison.offset + 2)


async def wait_for_commit(settings: CommonSettings, group: str, offset: int) -> None:
    deadline = time.monotonic() + 20
    while await committed(settings, group, settings.topics.ingested) < offset:
        assert time.monotonic() < deadline, "offset not committed past the records"
        await asyncio.sleep(0.2)


async def test_a_failing_record_is_tried_a_bounded_number_of_times_then_dead_lettered(
    settings: CommonSettings, running: tuple[KafkaBroker, dict[str, Any]]
) -> None:
    broker, state = running
    state["fail"]["bug"] = {"left": -1, "error": ValueError("always")}  # never stops failing
    await publish_event(broker, settings.topics.ingested, ingested("bug"), key="k", service="t")
    await publish_event(broker, settings.topics.ingested, ingested("fine"), key="k", service="t")

    await wait_for(lambda: "fine" in state["calls"])
    assert Counter(state["calls"])["bug"] == 3
    (letter,) = await dead_letters(settings)
    assert letter["payload"]["record_id"] == "bug"
    assert letter["payload"]["source_event_id"] == str(deterministic_id("records.ingested", "bug"))
    # A library's message may quote the input: only the type and where it was raised.
    assert letter["payload"]["reason"].startswith("ValueError at test_delivery.py:")
    assert "always" not in letter["payload"]["reason"]
    await wait_for_commit(settings, state["group"], 2)


async def test_an_outage_pauses_and_retries_without_dead_lettering_or_spinning(
    settings: CommonSettings, running: tuple[KafkaBroker, dict[str, Any]]
) -> None:
    broker, state = running
    state["fail"]["waits"] = {"left": 3, "error": ConnectionRefusedError("s3 away")}
    await publish_event(broker, settings.topics.ingested, ingested("waits"), key="k", service="t")

    await wait_for(lambda: len(state["calls"]) >= 4)
    assert state["calls"] == ["waits"] * 4  # three outages, then handled once
    gaps = [b - a for a, b in zip(state["times"], state["times"][1:], strict=False)]
    assert all(gap >= 0.4 for gap in gaps), f"retried too fast: {gaps}"
    assert gaps[-1] > gaps[0]  # the pause grows while the outage lasts
    await wait_for_commit(settings, state["group"], 1)
    assert await dead_letters(settings) == []


async def test_replay_resends_the_original_once_and_a_second_replay_sends_nothing(
    settings: CommonSettings, running: tuple[KafkaBroker, dict[str, Any]]
) -> None:
    broker, state = running
    state["fail"]["fixed-later"] = {"left": 3, "error": KeyError("bug")}
    original = ingested("fixed-later")
    await publish_event(broker, settings.topics.ingested, original, key="k", service="t")
    await wait_for(lambda: Counter(state["calls"])["fixed-later"] == 3)
    await wait_for_dead_letters(settings, 1)

    # "After a fix": the handler now succeeds. Other stages' letters are filtered out.
    assert (await replay_rejected(settings, stage="anonymizer")).replayed == []
    first = await replay_rejected(settings, stage="probe")
    assert len(first.replayed) == 1
    await wait_for(lambda: Counter(state["calls"])["fixed-later"] == 4)

    second = await replay_rejected(settings)
    assert second.replayed == [] and second.already_replayed == 1
    copies = [
        json.loads(r["value"])
        for r in await read_topic(
            {"MEDSHARE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}, settings.topics.ingested
        )
    ]
    assert len(copies) == 2  # the original and exactly one replay
    assert copies[0] == copies[1]  # same bytes, so the same deterministic event id
    assert copies[1]["event_id"] == str(original.event_id)
    await asyncio.sleep(1.0)
    assert Counter(state["calls"])["fixed-later"] == 4


async def wait_for_dead_letters(settings: CommonSettings, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(await dead_letters(settings)) < count:
        assert time.monotonic() < deadline, "dead letter not published"
        await asyncio.sleep(0.2)


async def test_a_record_faststream_cannot_parse_is_dead_lettered_not_skipped(
    settings: CommonSettings, running: tuple[KafkaBroker, dict[str, Any]]
) -> None:
    """Headers that are not UTF-8 fail in FastStream's parser, before any handler: it
    cannot seek back to such a record, so without the middleware it would be skipped
    in silence."""
    broker, state = running
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        bad = await producer.send_and_wait(
            settings.topics.ingested,
            ingested("bad-headers").model_dump_json().encode(),
            headers=[("medshare-institution", b"\xff\xfe\x00\x81")],
        )
    finally:
        await producer.stop()
    await publish_event(broker, settings.topics.ingested, ingested("next"), key="k", service="t")

    await wait_for(lambda: "next" in state["calls"])
    assert "bad-headers" not in state["calls"]
    await wait_for_dead_letters(settings, 1)
    (letter,) = await dead_letters(settings)
    assert letter["payload"]["source_offset"] == bad.offset
    assert letter["payload"]["reason"].startswith("unreadable record: UnicodeDecodeError")
    assert letter["payload"]["record_id"] == "bad-headers"
