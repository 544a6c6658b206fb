"""Pieces of `medshare bench inference`: synthetic records, the service process, Kafka I/O,
and a summary of where a profiled service spent its time."""

from __future__ import annotations

import asyncio
import pstats
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from medshare_inference.models.manifest import ModelManifest
from medshare_infra.processes import free_port
from medshare_infra.services import ServiceProcess
from medshare_shared.events import DeidentifiedEvent, DeidReport, RecordDeidentified, envelope


def feature_rows(manifest: ModelManifest, count: int) -> list[dict[str, float]]:
    """Real rows of the model's own data set, cycled: every record is valid input."""
    import importlib

    from medshare_inference.models import TRAINERS

    assert manifest.input_schema is not None
    names = manifest.input_schema.names
    data, _ = importlib.import_module(TRAINERS[manifest.name]).load_data()
    return [dict(zip(names, map(float, data[i % len(data)]), strict=True)) for i in range(count)]


def deidentified(
    index: int, run: str, features: dict[str, float] | None, shared: tuple[str, str] | None
) -> DeidentifiedEvent:
    kind = "dicom" if shared else "case_report"
    bucket, key = shared or ("bench-shared", f"case_report/{run}-{index}.json")
    metadata: dict[str, Any] = {"rows": 256, "columns": 256, "modality": "US"} if shared else {}
    payload = RecordDeidentified(
        record_id=f"{run}-{index:07d}",
        institution="bench",
        kind=kind,
        patient_pseudonym=f"bench-patient-{index % 101}",
        shared_bucket=bucket,
        shared_key=key,
        sha256="0" * 64,
        size=0,
        content_type="application/dicom" if shared else "application/json",
        ingested_at=datetime.now(UTC),
        metadata=metadata,
        features=features or {},
        report=DeidReport(profile="bench"),
    )
    event: DeidentifiedEvent = envelope(
        payload, event_type="records.deidentified", producer="bench"
    )
    return event


async def wait_for_leaders(bootstrap: str, topics: list[str], timeout_s: float = 30.0) -> None:
    """New topics answer NotLeaderForPartition until their leaders are elected."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            described = await admin.describe_topics(topics)
            if all(
                t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
                for t in described
            ):
                return
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


class Publisher:
    def __init__(self, bootstrap: str):
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def send(self, topic: str, event: DeidentifiedEvent) -> asyncio.Future[Any]:
        """Queue one event; the returned future resolves when the broker has it."""
        value = event.model_dump_json().encode()
        key = event.payload.patient_pseudonym.encode()
        future: asyncio.Future[Any] = await self.producer.send(topic, value, key=key)
        return future


class ResultReader:
    """Reads records.inferred from its first offset, no consumer group."""

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap = bootstrap
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self.seen: dict[str, float] = {}  # record id -> monotonic arrival

    async def start(self) -> None:
        from medshare_inference.backfill import topic_partitions

        await self.consumer.start()
        assigned = await topic_partitions(self.bootstrap, self.topic)
        self.consumer.assign(assigned)
        await self.consumer.seek_to_beginning(*assigned)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read_until(self, wanted: Collection[str], timeout_s: float) -> None:
        """Read until every record id in `wanted` has a result."""
        from medshare_shared.events import InferredEvent

        missing = set(wanted) - set(self.seen)
        deadline = time.monotonic() + timeout_s
        while missing and time.monotonic() < deadline:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.monotonic()
            for messages in batches.values():
                for message in messages:
                    event = InferredEvent.model_validate_json(message.value or b"")
                    self.seen.setdefault(event.payload.record_id, now)
                    missing.discard(event.payload.record_id)
        if missing:
            raise TimeoutError(
                f"{len(missing)} of {len(wanted)} results missing after {timeout_s:.0f}s"
            )


def inference_service(
    env: dict[str, str], log: Path, profile_to: Path | None = None
) -> ServiceProcess:
    """`medshare inference serve` as a child process, optionally under cProfile (the stats
    are written at a graceful stop)."""
    if profile_to is not None:
        env = {**env, "MEDSHARE_PROFILE_FILE": str(profile_to.resolve())}
    return ServiceProcess("inference", free_port(), env, log)


def stage_totals(metrics_text: str) -> dict[str, float]:
    """Seconds spent per handler stage, from the service's Prometheus text."""
    totals: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("medshare_inference_stage_seconds_sum{"):
            stage = line.split('stage="', 1)[1].split('"', 1)[0]
            totals[stage] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("medshare_processing_seconds_sum{") and "inference" in line:
            totals["handler"] = float(line.rsplit(" ", 1)[1])
    return totals


IDLE = "waiting for I/O (event loop idle)"
_CATEGORIES: Sequence[tuple[str, tuple[str, ...]]] = (
    (IDLE, ("select.epoll", "selectors.py")),
    ("socket send/receive", ("_socket.socket",)),
    ("kafka client (aiokafka: fetch, produce, commit)", ("aiokafka",)),
    ("faststream (consume, decode, publish)", ("faststream",)),
    ("pydantic (event parsing and building)", ("pydantic",)),
    ("json", ("json",)),
    ("torch (in the event loop's thread)", ("torch",)),
    ("medshare code", ("medshare_",)),
    ("asyncio machinery", ("asyncio",)),
    ("prometheus metrics", ("prometheus_client",)),
)


def profile_summary(path: Path, top: int = 15) -> dict[str, Any]:
    """The event loop thread's busy time by category, and its top functions. The forward
    pass runs in a worker thread, which cProfile does not see: the stage timers cover it."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    categories: dict[str, float] = {}
    rows = []
    for (filename, line, function), entry in raw.items():
        where = f"{filename}:{line}({function})"
        label = next((name for name, keys in _CATEGORIES if any(k in where for k in keys)), "other")
        categories[label] = categories.get(label, 0.0) + entry[2]
        if label != IDLE:
            rows.append((entry[2], where))
    idle = categories.pop(IDLE, 0.0)
    busy = sum(categories.values()) or 1.0
    rows.sort(reverse=True)
    return {
        "busy_seconds": round(busy, 3),
        "idle_seconds": round(idle, 3),
        "busy_share_by_category": {
            k: round(v / busy, 4) for k, v in sorted(categories.items(), key=lambda kv: -kv[1])
        },
        "top_functions": [
            {"seconds": round(seconds, 3), "function": _short(where)}
            for seconds, where in rows[:top]
        ],
    }


def _short(where: str) -> str:
    marker = "site-packages/"
    return where.split(marker, 1)[1] if marker in where else where


def percentile_ms(values: Sequence[float], fraction: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, fraction * 100)) if values else 0.0
