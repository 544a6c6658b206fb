"""Consumer lag as a Prometheus gauge: how far each consumer group is behind its topics.

Lag is the sum over partitions of (log end offset - committed offset). It is read
from the broker every few seconds by a background task, so it reflects every
replica of the group, not only this process.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from medshare_shared.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


async def group_lag(bootstrap: str, group_id: str, topics: list[str]) -> dict[str, int]:
    """Records not yet committed by `group_id`, per topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        described = await admin.describe_topics(topics)
        partitions = [
            TopicPartition(entry["topic"], partition["partition"])
            for entry in described
            if not entry.get("error_code")
            for partition in entry["partitions"]
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        lag = dict.fromkeys(topics, 0)
        for partition, end in ends.items():
            meta = committed.get(partition)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[partition.topic] += max(0, end - done)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def watch_lag(
    bootstrap: str, service: str, group_id: str, topics: list[str], interval_s: float = 10.0
) -> None:
    """Update the lag gauge until cancelled; a broker outage only skips a reading."""
    while True:
        try:
            for topic, value in (await group_lag(bootstrap, group_id, topics)).items():
                CONSUMER_LAG.labels(service, topic).set(value)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the broker is away: report the next time
            log.debug("lag reading failed", extra={"error": type(error).__name__})
        await asyncio.sleep(interval_s)
