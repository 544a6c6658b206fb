"""Ingest against the real servers: the app in-process (or as a process), real files.

Every test gets fresh topics and a fresh raw bucket through `pipeline_env`. DICOM
inputs are real files from pydicom's test data with new UIDs, so each test's bytes
are new and dedupe only fires where a test sends the same bytes twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from medshare_ingest.app import create_app
from medshare_ingest.sample_data import diverse_samples, renewed
from medshare_ingest.settings import IngestSettings
from medshare_shared.object_store import ObjectStore

INSTITUTION = "springfield-general"


def settings_from(env: dict[str, str], **overrides: Any) -> IngestSettings:
    values = {key.removeprefix("MEDSHARE_").lower(): value for key, value in env.items()
              if key.startswith("MEDSHARE_")}  # fmt: skip
    # One consumer group per test: a shared group would rebalance across unrelated tests.
    values["consumer_group"] = "ingest-" + env.get("MEDSHARE_TOPIC_PREFIX", "").strip(".")
    values.update(overrides)
    return IngestSettings(**values)


@dataclass
class RunningIngest:
    client: httpx.AsyncClient
    app: FastAPI


@asynccontextmanager
async def ingest_app(settings: IngestSettings) -> AsyncIterator[RunningIngest]:
    """The ingest app with its lifespan (broker, consumer, SCP) and an HTTP client for it."""
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://ingest",
            timeout=60,
            headers={"X-Institution": INSTITUTION},
        ) as client,
    ):
        yield RunningIngest(client, app)


@pytest.fixture(scope="session")
def sample_files() -> list[Path]:
    return diverse_samples(24)


@pytest.fixture
def fresh_dicom(sample_files: list[Path]) -> Iterator[Any]:
    """New instances from the samples in turn (`uncompressed=True`: native pixel data only,
    what dcmtk's storescu sends without codec options)."""
    counter = iter(range(10**6))
    native = [path for path in sample_files if not _compressed(path)]

    def make(uncompressed: bool = False, **attributes: Any) -> bytes:
        pool = native if uncompressed else sample_files
        path = pool[next(counter) % len(pool)]
        return renewed(path.read_bytes(), **attributes)

    yield make


def _compressed(path: Path) -> bool:
    syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    return bool(syntax.is_compressed)


def store_for(env: dict[str, str]) -> ObjectStore:
    return ObjectStore(
        env["MEDSHARE_S3_ENDPOINT"], env["MEDSHARE_S3_ACCESS_KEY"], env["MEDSHARE_S3_SECRET_KEY"]
    )


def raw_keys(env: dict[str, str], prefix: str = "records/") -> list[str]:
    store = store_for(env)
    bucket = env["MEDSHARE_RAW_BUCKET"]
    if not store.client.bucket_exists(bucket):
        return []
    return sorted(
        str(item.object_name)
        for item in store.client.list_objects(bucket, prefix=prefix, recursive=True)
    )


async def read_topic(
    bootstrap: str, topic: str, expect: int | None = None, idle_s: float = 2.0, max_s: float = 60
) -> list[dict[str, Any]]:
    """Every message on `topic` (JSON values, headers added) until `expect` are in and the
    topic has been quiet for `idle_s`, or `max_s` passed."""
    import asyncio
    import time

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + 15
        while not partitions and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions or [])]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        messages: list[dict[str, Any]] = []
        start = last = time.monotonic()
        while time.monotonic() - start < max_s:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    value = json.loads(record.value) if record.value else {}
                    value["_headers"] = {k: v.decode() for k, v in record.headers or []}
                    value["_key"] = record.key.decode() if record.key else None
                    messages.append(value)
                    last = time.monotonic()
            enough = expect is None or len(messages) >= expect
            if enough and time.monotonic() - last >= idle_s:
                break
        return messages
    finally:
        await consumer.stop()
