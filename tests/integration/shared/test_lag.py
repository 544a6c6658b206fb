"""Consumer lag read from the real broker."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from medshare_shared.kafka import ensure_topics
from medshare_shared.lag import group_lag
from medshare_shared.settings import CommonSettings
from tests.conftest import unique


async def settled_lag(bootstrap: str, group: str, topic: str, expected: int) -> dict[str, int]:
    """The lag once it reads `expected`, or the last reading after 20 s.

    On a broker that just started, the group coordinator and fresh partitions can take
    a moment to answer; the watcher in the services simply reads again later.
    """
    deadline = time.monotonic() + 20
    while True:
        try:
            lag = await group_lag(bootstrap, group, [topic])
        except Exception:  # coordinator or leader not ready yet
            if time.monotonic() > deadline:
                raise
            lag = {}
        if lag == {topic: expected} or time.monotonic() > deadline:
            return lag
        await asyncio.sleep(0.5)


async def test_lag_counts_records_the_group_has_not_committed(stack_env: dict[str, str]) -> None:
    bootstrap = stack_env["MEDSHARE_KAFKA_BOOTSTRAP"]
    topic, group = unique("lag."), unique("group-")
    await ensure_topics(CommonSettings(kafka_bootstrap=bootstrap), [topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for index in range(5):
            await producer.send_and_wait(topic, f"record {index}".encode())
    finally:
        await producer.stop()

    assert await settled_lag(bootstrap, group, topic, 5) == {topic: 5}

    # No auto-commit: stopping would commit the consumer's own position over ours.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await consumer.stop()

    assert await settled_lag(bootstrap, group, topic, 3) == {topic: 3}
