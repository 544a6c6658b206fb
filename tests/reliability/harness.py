"""Drive a load through a running fleet in the background, then check the end state exactly.

`Flow` sends a corpus (HTTP with retries until acknowledged, part of it through the
Kafka door) and watches MongoDB from a background thread, so the test's own thread
is free to kill services or restart servers meanwhile. `verify_exact` then checks
the outcome the issue asks for: every record in the catalog once, nothing else,
and every shared-zone object byte-identical to what its catalog entry says.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient

from medshare_infra.workload import Acks, CatalogProgress, Item, send_all, watch_catalog
from medshare_shared import replay
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings


@dataclass
class Flow:
    env: dict[str, str]
    items: Sequence[Item]
    ingest_urls: Sequence[str]
    kafka_share: float = 0.2
    timeout_s: float = 420.0
    progress: CatalogProgress = field(default_factory=CatalogProgress)
    acks: Acks = field(default_factory=Acks)
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    thread: threading.Thread | None = None

    @property
    def expected(self) -> set[str]:
        return {item.record_id for item in self.items}

    @property
    def case_reports(self) -> set[str]:
        return {item.record_id for item in self.items if item.kind == "case_report"}

    def start(self) -> Flow:
        self.thread = threading.Thread(target=self._run, name="flow", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by wait()
            self.error = error

    async def _main(self) -> None:
        watcher = asyncio.create_task(
            watch_catalog(
                self.env["MEDSHARE_MONGO_URL"],
                self.env["MEDSHARE_MONGO_DB"],
                self.expected,
                self.progress,
                self.timeout_s,
                self.acks,
                want_inference=self.case_reports,
            )
        )
        prefix = self.env.get("MEDSHARE_TOPIC_PREFIX", "")
        await send_all(
            self.items,
            self.ingest_urls,
            self.env["MEDSHARE_KAFKA_BOOTSTRAP"],
            f"{prefix}records.submitted",
            kafka_share=self.kafka_share,
            deadline_s=self.timeout_s,
            acks=self.acks,
        )
        await watcher
        self.finished = time.monotonic()

    def cataloged(self) -> int:
        return len(self.progress.cataloged_at)

    def wait_for_cataloged(self, count: int, timeout_s: float = 240.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.cataloged() < count:
            if self.error is not None:
                raise self.error
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.cataloged()} of {count} cataloged in time")
            time.sleep(0.2)

    def wait(self) -> float:
        """Seconds from start to every record cataloged (and inferred where it applies)."""
        assert self.thread is not None
        self.thread.join(self.timeout_s + 60)
        if self.error is not None:
            raise self.error
        missing = self.expected - self.progress.cataloged_at.keys()
        uninferred = self.case_reports - self.progress.inferred_at.keys()
        assert not missing, f"{len(missing)} records never reached the catalog"
        assert not uninferred, f"{len(uninferred)} case reports never got a model result"
        assert self.finished is not None
        return self.finished - self.started


def store_for(env: dict[str, str]) -> ObjectStore:
    return ObjectStore(
        env["MEDSHARE_S3_ENDPOINT"], env["MEDSHARE_S3_ACCESS_KEY"], env["MEDSHARE_S3_SECRET_KEY"]
    )


@dataclass
class EndState:
    documents: int
    shared_objects: int
    duplicate_deidentified_events: int
    rejected: list[dict[str, Any]]
    quarantined: int


def verify_exact(env: dict[str, str], expected: set[str]) -> EndState:
    """The catalog holds exactly `expected`, once each, and the shared zone agrees with it."""
    with MongoClient(env["MEDSHARE_MONGO_URL"], serverSelectionTimeoutMS=10_000) as client:
        documents = list(client[env["MEDSHARE_MONGO_DB"]]["records"].find({}))
    ids = [str(document["_id"]) for document in documents]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected, (
        f"missing {len(expected - set(ids))}, unexpected {len(set(ids) - expected)}"
    )
    assert all(document.get("cataloged") for document in documents), "a record is not cataloged"

    store = store_for(env)
    bucket = env["MEDSHARE_SHARED_BUCKET"]
    listed = {obj.object_name for obj in store.client.list_objects(bucket, recursive=True)}
    keys = {document["object"]["key"] for document in documents}
    assert listed == keys, (
        f"shared zone has {len(listed - keys)} objects no record names, "
        f"{len(keys - listed)} records without an object"
    )
    for document in documents:
        entry = document["object"]
        data = store.get_sync(entry["bucket"], entry["key"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
            f"shared object of {document['_id']} does not match its catalog entry"
        )
        assert len(data) == entry["size"]

    prefix = env.get("MEDSHARE_TOPIC_PREFIX", "")
    deidentified = asyncio.run(read_topic(env, f"{prefix}records.deidentified"))
    rejected = asyncio.run(read_topic(env, f"{prefix}records.rejected"))
    quarantined = asyncio.run(read_topic(env, f"{prefix}records.quarantined"))
    return EndState(
        documents=len(documents),
        shared_objects=len(listed),
        duplicate_deidentified_events=len(deidentified) - len(expected),
        rejected=rejected,
        quarantined=len(quarantined),
    )


async def read_topic(env: dict[str, str], topic: str) -> list[dict[str, Any]]:
    """Every committed record of a topic as {partition, offset, key, value, headers}."""
    settings = CommonSettings(kafka_bootstrap=env["MEDSHARE_KAFKA_BOOTSTRAP"])
    return [
        {
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key,
            "value": record.value,
            "headers": dict(record.headers or ()),
        }
        for record in await replay.read_topic(settings, topic)
    ]
