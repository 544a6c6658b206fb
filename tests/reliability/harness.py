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
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from minio.deleteobjects import DeleteObject
from pymongo import MongoClient

from medshare_infra import replay
from medshare_infra.workload import Acks, CatalogProgress, Item, send_all, watch_catalog
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings


@dataclass
class Flow:
    env: dict[str, str]
    items: Sequence[Item]
    ingest_urls: Sequence[str]
    kafka_share: float = 0.2
    timeout_s: float = 420.0
    rate: float = 0.0  # records per second; 0: as fast as ingest takes them
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
            rate=self.rate,
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


def verify_exact(env: dict[str, str], expected: set[str], context: str = "") -> EndState:
    """The catalog holds exactly `expected`, once each, and the shared zone agrees with it.

    `context` (what struck when) goes into a failure's message.
    """
    with MongoClient(env["MEDSHARE_MONGO_URL"], serverSelectionTimeoutMS=10_000) as client:
        documents = list(client[env["MEDSHARE_MONGO_DB"]]["records"].find({}))
    ids = [str(document["_id"]) for document in documents]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected, (
        f"missing {len(expected - set(ids))} ({sorted(expected - set(ids))[:5]}), "
        f"unexpected {len(set(ids) - expected)}; {context}"
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


@dataclass
class Accounting:
    """Where every acknowledged record ended up (the soak's table)."""

    acknowledged: int
    cataloged: int
    quarantined: int
    dead_lettered: int
    missing: list[str]
    duplicates: int  # a record twice: in the catalog and out of it, or a second shared object

    def row(self) -> dict[str, int]:
        return {
            "acknowledged": self.acknowledged,
            "cataloged": self.cataloged,
            "quarantined": self.quarantined,
            "dead_lettered": self.dead_lettered,
            "missing": len(self.missing),
            "duplicates": self.duplicates,
        }


def _record_ids(events: list[dict[str, Any]]) -> set[str]:
    ids = set()
    for event in events:
        payload = json.loads(event["value"]).get("payload", {})
        record_id = payload.get("record_id") or payload.get("submission_id")
        if record_id is None and event["key"]:
            record_id = event["key"].decode()
        if record_id:
            ids.add(str(record_id))
    return ids


def catalog_ends(env: dict[str, str]) -> set[str]:
    """Record ids the catalog finished with: listed, quarantined, or folded into another
    record holding the same SOP instance (the corpora repeat instances under one UID)."""
    with MongoClient(env["MEDSHARE_MONGO_URL"], serverSelectionTimeoutMS=10_000) as client:
        documents = client[env["MEDSHARE_MONGO_DB"]]["records"].find(
            {}, {"_id": 1, "cataloged": 1, "quarantine": 1, "duplicate_of": 1}
        )
        return {
            str(d["_id"])
            for d in documents
            if d.get("cataloged") or d.get("quarantine") or d.get("duplicate_of")
        }


def account(env: dict[str, str], acknowledged: set[str]) -> Accounting:
    """Catalog ∪ quarantine ∪ dead letters against every acknowledged record."""
    with MongoClient(env["MEDSHARE_MONGO_URL"], serverSelectionTimeoutMS=10_000) as client:
        documents = list(
            client[env["MEDSHARE_MONGO_DB"]]["records"].find({}, {"_id": 1, "object": 1})
        )
    cataloged = [str(document["_id"]) for document in documents]
    prefix = env.get("MEDSHARE_TOPIC_PREFIX", "")
    quarantined = _record_ids(asyncio.run(read_topic(env, f"{prefix}records.quarantined")))
    dead = _record_ids(asyncio.run(read_topic(env, f"{prefix}records.rejected")))
    bucket = env["MEDSHARE_SHARED_BUCKET"]
    listed = {obj.object_name for obj in store_for(env).client.list_objects(bucket, recursive=True)}
    keys = {document["object"]["key"] for document in documents if document.get("object")}
    accounted = set(cataloged) | quarantined | dead
    duplicates = (
        len(cataloged)
        - len(set(cataloged))
        + len(set(cataloged) & (quarantined | dead))
        + len(listed - keys)
    )
    return Accounting(
        acknowledged=len(acknowledged),
        cataloged=len(set(cataloged) & acknowledged),
        quarantined=len(quarantined & acknowledged),
        dead_lettered=len(dead & acknowledged),
        missing=sorted(acknowledged - accounted),
        duplicates=duplicates,
    )


def discard(env: dict[str, str]) -> None:
    """Drop a finished run's database, buckets and topics (a soak would fill the disk)."""
    with MongoClient(env["MEDSHARE_MONGO_URL"], serverSelectionTimeoutMS=10_000) as client:
        client.drop_database(env["MEDSHARE_MONGO_DB"])
    client = store_for(env).client
    for bucket in (env["MEDSHARE_RAW_BUCKET"], env["MEDSHARE_SHARED_BUCKET"]):
        if not client.bucket_exists(bucket):
            continue
        names = [obj.object_name for obj in client.list_objects(bucket, recursive=True)]
        errors = client.remove_objects(bucket, [DeleteObject(name) for name in names if name])
        assert not list(errors)
        client.remove_bucket(bucket)
    asyncio.run(_delete_topics(env["MEDSHARE_KAFKA_BOOTSTRAP"], env["MEDSHARE_TOPIC_PREFIX"]))


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [topic for topic in await admin.list_topics() if topic.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
