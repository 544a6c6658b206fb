"""Consumer lag as a Prometheus gauge: how far each consumer group is behind its topics.

Lag is the sum over partitions of (log end offset - committed offset). It is read
from the broker every few seconds by a background task, so it reflects every
replica of the group, not only this process. Wire it with
`create_service_app(..., background=[lag_watcher(settings, "catalog", group, topics)])`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from medshare_shared.kafka_auth import client_options
from medshare_shared.metrics import CONSUMER_LAG
from medshare_shared.settings import CommonSettings

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 5.0


class LagReader:
    """Reads a group's lag with clients kept open between readings."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self.admin is None or self.consumer is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap, request_timeout_ms=15_000, **client_options()
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=15_000,
                **client_options(),
            )
            try:
                await admin.start()
                await consumer.start()
            except BaseException:
                await self._close(admin, consumer)
                raise
            self.admin, self.consumer = admin, consumer
        return self.admin, self.consumer

    async def read(self, group_id: str, topics: list[str]) -> dict[str, int]:
        """Records not yet committed by `group_id`, per topic."""
        admin, consumer = await self._clients()
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
        except BaseException:
            await self.close()  # a broker restart leaves stale connections: start afresh
            raise
        lag = dict.fromkeys(topics, 0)
        for partition, end in ends.items():
            meta = committed.get(partition)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[partition.topic] += max(0, end - done)
        return lag

    async def close(self) -> None:
        admin, consumer = self.admin, self.consumer
        self.admin = self.consumer = None
        await self._close(admin, consumer)

    @staticmethod
    async def _close(admin: AIOKafkaAdminClient | None, consumer: AIOKafkaConsumer | None) -> None:
        with contextlib.suppress(Exception):
            if consumer is not None:
                await consumer.stop()
        with contextlib.suppress(Exception):
            if admin is not None:
                await admin.close()


async def group_lag(bootstrap: str, group_id: str, topics: list[str]) -> dict[str, int]:
    """Records not yet committed by `group_id`, per topic (one reading, own clients)."""
    reader = LagReader(bootstrap)
    try:
        return await reader.read(group_id, topics)
    finally:
        await reader.close()


async def watch_lag(
    bootstrap: str,
    service: str,
    group_id: str,
    topics: list[str],
    interval_s: float = LAG_INTERVAL_S,
) -> None:
    """Update the lag gauge until cancelled; a broker outage only skips a reading."""
    reader = LagReader(bootstrap)
    try:
        while True:
            try:
                for topic, value in (await reader.read(group_id, topics)).items():
                    CONSUMER_LAG.labels(service, topic).set(value)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker is away: report the next time
                log.debug("lag reading failed", extra={"error": type(error).__name__})
            await asyncio.sleep(interval_s)
    finally:
        await reader.close()


def lag_watcher(
    settings: CommonSettings, service: str, group_id: str, topics: list[str]
) -> Callable[[], Awaitable[None]]:
    """A background hook for `create_service_app` that keeps the lag gauge current."""

    async def watch() -> None:
        await watch_lag(settings.kafka_bootstrap, service, group_id, topics)

    return watch
