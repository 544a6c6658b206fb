"""The ingest service the benchmark measures: a real process with its own topics and bucket.

Started as `python -m medshare_shared ingest serve` (what production runs), on free
loopback ports, against the servers of the caller's MEDSHARE_ environment. On exit
it is stopped and its topics and raw bucket are deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from minio.deleteobjects import DeleteObject

from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings
from medshare_shared.topics import Topics

BENCH_AE = "BENCH_SCU"
BENCH_INSTITUTION = "bench-hospital"
READY_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BenchService:
    def __init__(self, settings: CommonSettings, run_id: str, log_path: Path):
        self.settings = settings
        self.topics = Topics(f"bench{run_id}.")
        self.raw_bucket = f"bench-raw-{run_id}"
        self.http_port = free_port()
        self.dimse_port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "MEDSHARE_TOPIC_PREFIX": self.topics.prefix,
            "MEDSHARE_RAW_BUCKET": self.raw_bucket,
            "MEDSHARE_CONSUMER_GROUP": f"{self.topics.prefix}ingest",
            "MEDSHARE_HTTP_HOST": "127.0.0.1",
            "MEDSHARE_HTTP_PORT": str(self.http_port),
            "MEDSHARE_DIMSE_PORT": str(self.dimse_port),
            "MEDSHARE_DIMSE_ALLOWED_AES": json.dumps({BENCH_AE: BENCH_INSTITUTION}),
            "MEDSHARE_LOG_LEVEL": "WARNING",  # the bench measures the doors, not logging
        }

    def __enter__(self) -> BenchService:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "medshare_shared", "ingest", "serve"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"ingest exited; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise TimeoutError(f"ingest not ready after {READY_TIMEOUT_S}s; see {self.log_path}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
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
