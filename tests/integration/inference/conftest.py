"""Fixtures for the inference service against the real servers: a registry with trained
models, the service as a real process, and Kafka helpers that publish de-identified
records and read what comes out on records.inferred."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from medshare_inference.backfill import topic_partitions
from medshare_inference.models import TrainedModel, train_model
from medshare_inference.registry import ModelRegistry
from medshare_shared.events import (
    DeidentifiedEvent,
    DeidReport,
    InferredEvent,
    RecordDeidentified,
    envelope,
)
from medshare_shared.object_store import ObjectStore
from medshare_shared.topics import Topics


@pytest.fixture(scope="session")
def detector() -> TrainedModel:
    """The burned-in text detector: trained once per code version, then from MEDSHARE_CACHE."""
    return train_model("burned-in-text")


@pytest.fixture(scope="session")
def tabular_models() -> dict[str, TrainedModel]:
    return {
        "breast-cancer-malignancy@1.0.0": train_model("breast-cancer-malignancy", seed=1),
        "breast-cancer-malignancy@1.0.1": train_model(
            "breast-cancer-malignancy", seed=2, version="1.0.1"
        ),
        "diabetes-progression@1.0.0": train_model("diabetes-progression", seed=1),
        "diabetes-progression@1.0.1": train_model("diabetes-progression", seed=2, version="1.0.1"),
    }


@pytest.fixture
def env(pipeline_env: dict[str, str]) -> dict[str, str]:
    """This test's topics and buckets; micro-batches wait at most 20 ms."""
    return {**pipeline_env, "MEDSHARE_BATCH_WAIT_MS": "20"}


def store_for(env: dict[str, str]) -> ObjectStore:
    return ObjectStore(
        env["MEDSHARE_S3_ENDPOINT"], env["MEDSHARE_S3_ACCESS_KEY"], env["MEDSHARE_S3_SECRET_KEY"]
    )


async def register(
    env: dict[str, str], models: dict[str, TrainedModel], production: list[str]
) -> ModelRegistry:
    """Register "name@version" entries; promote those listed in `production`."""
    registry = ModelRegistry(store_for(env), env["MEDSHARE_MODELS_BUCKET"])
    for label, trained in models.items():
        name, version = label.split("@")
        manifest = trained.manifest.model_copy(update={"version": version})
        await registry.register(name, version, trained.module, manifest)
    for label in production:
        await registry.promote(*label.split("@"))
    return registry


@pytest.fixture
def service_logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


def deidentified(
    record_id: str,
    kind: str = "case_report",
    features: dict[str, float] | None = None,
    metadata: dict[str, Any] | None = None,
    shared: tuple[str, str] = ("none", "none"),
    patient: str | None = None,
) -> DeidentifiedEvent:
    payload = RecordDeidentified(
        record_id=record_id,
        institution="integration",
        kind=kind,  # type: ignore[arg-type]
        patient_pseudonym=patient or f"patient-{record_id}",
        shared_bucket=shared[0],
        shared_key=shared[1],
        sha256="0" * 64,
        size=1,
        content_type="application/dicom" if kind == "dicom" else "application/json",
        ingested_at=datetime.now(UTC),
        metadata=metadata or {},
        features=features or {},
        report=DeidReport(profile="integration"),
    )
    event: DeidentifiedEvent = envelope(payload, event_type="records.deidentified", producer="t")
    return event


class Kafka:
    """Publishes to records.deidentified and reads records.inferred from its start."""

    def __init__(self, env: dict[str, str]):
        self.bootstrap = env["MEDSHARE_KAFKA_BOOTSTRAP"]
        self.topics = Topics(env["MEDSHARE_TOPIC_PREFIX"])
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        self.results: list[tuple[float, InferredEvent]] = []  # (arrival, event)

    async def start(self) -> None:
        from medshare_shared.kafka import ensure_topics
        from medshare_shared.settings import CommonSettings

        settings = CommonSettings(kafka_bootstrap=self.bootstrap, topic_prefix=self.topics.prefix)
        await ensure_topics(settings, self.topics.all())
        await self.producer.start()
        await self.consumer.start()
        partitions = await topic_partitions(self.bootstrap, self.topics.inferred)
        assert partitions, "records.inferred was not created"
        self.consumer.assign(partitions)
        await self.consumer.seek_to_beginning(*partitions)

    async def stop(self) -> None:
        await self.producer.stop()
        await self.consumer.stop()

    async def publish(self, event: DeidentifiedEvent) -> None:
        await self.producer.send_and_wait(
            self.topics.deidentified,
            event.model_dump_json().encode(),
            key=event.payload.patient_pseudonym.encode(),
        )

    async def publish_raw(self, value: bytes, key: bytes = b"raw") -> None:
        await self.producer.send_and_wait(self.topics.deidentified, value, key=key)

    async def poll(self, timeout_ms: int = 200) -> None:
        batches = await self.consumer.getmany(timeout_ms=timeout_ms)
        now = time.monotonic()
        for messages in batches.values():
            for message in messages:
                event = InferredEvent.model_validate_json(message.value or b"")
                self.results.append((now, event))

    async def wait_for(self, count: int, timeout_s: float) -> list[InferredEvent]:
        deadline = time.monotonic() + timeout_s
        while len(self.results) < count and time.monotonic() < deadline:
            await self.poll()
        assert len(self.results) >= count, f"{len(self.results)} of {count} results in time"
        return [event for _, event in self.results]

    async def committed(self, group: str) -> int:
        """Records of records.deidentified the group has committed, over all partitions."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        return sum(
            meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self.topics.deidentified and meta.offset > 0
        )


@pytest.fixture
async def kafka(env: dict[str, str]) -> AsyncIterator[Kafka]:
    client = Kafka(env)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


def run_id() -> str:
    return uuid.uuid4().hex[:8]


async def until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def medshare_models(env: dict[str, str], *arguments: str) -> str:
    """Run `medshare models ARGUMENTS...` as the operator would; its output, on success."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "medshare_shared",
        "models",
        *arguments,
        env={**os.environ, **env, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()
