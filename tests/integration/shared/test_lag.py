"""Consumer lag read from the real broker."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from medshare_shared.kafka import ensure_topics
from medshare_shared.lag import group_lag
from medshare_shared.settings import CommonSettings
from tests.conftest import unique


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

    assert await group_lag(bootstrap, group, [topic]) == {topic: 5}

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await consumer.stop()

    assert await group_lag(bootstrap, group, [topic]) == {topic: 3}
