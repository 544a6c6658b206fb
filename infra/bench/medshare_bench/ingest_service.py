"""The ingest service the benchmark measures: a real process with its own topics and bucket.

Started as `python -m medshare_shared ingest serve` (what production runs), on free
loopback ports, against the servers of the caller's MEDSHARE_ environment. On exit
it is stopped and its topics and raw bucket are deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from types import TracebackType

from minio.deleteobjects import DeleteObject

from medshare_infra.processes import free_port
from medshare_infra.services import ServiceProcess
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings
from medshare_shared.topics import Topics

BENCH_AE = "BENCH_SCU"
BENCH_INSTITUTION = "bench-hospital"
READY_TIMEOUT_S = 90


class BenchService:
    def __init__(self, settings: CommonSettings, run_id: str, log_path: Path):
        self.settings = settings
        self.topics = Topics(f"bench{run_id}.")
        self.raw_bucket = f"bench-raw-{run_id}"
        self.dimse_port = free_port()
        self.process = ServiceProcess("ingest", free_port(), self.environment(), log_path)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def environment(self) -> dict[str, str]:
        return {
            "MEDSHARE_TOPIC_PREFIX": self.topics.prefix,
            "MEDSHARE_RAW_BUCKET": self.raw_bucket,
            "MEDSHARE_CONSUMER_GROUP": f"{self.topics.prefix}ingest",
            "MEDSHARE_HTTP_HOST": "127.0.0.1",
            "MEDSHARE_DIMSE_PORT": str(self.dimse_port),
            "MEDSHARE_DIMSE_ALLOWED_AES": json.dumps({BENCH_AE: BENCH_INSTITUTION}),
            "MEDSHARE_LOG_LEVEL": "WARNING",  # the bench measures the doors, not logging
        }

    def __enter__(self) -> BenchService:
        self.process.start()
        self.process.wait_ready(READY_TIMEOUT_S)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.process.stop(20)
        self.cleanup()

    def cleanup(self) -> None:
        """Delete the run's topics and raw bucket (best effort: a leftover is harmless)."""
        with contextlib.suppress(Exception):
            asyncio.run(self._delete_topics())
        with contextlib.suppress(Exception):
            store = ObjectStore.from_settings(self.settings)
            client = store.client
            if client.bucket_exists(self.raw_bucket):
                names = client.list_objects(self.raw_bucket, recursive=True)
                doomed = (DeleteObject(str(item.object_name)) for item in names)
                for failure in client.remove_objects(self.raw_bucket, doomed):
                    raise RuntimeError(failure.message)
                client.remove_bucket(self.raw_bucket)

    async def _delete_topics(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            await admin.delete_topics([name for name in self.topics.all() if name in existing])
        finally:
            await admin.close()
