"""Accepting one submission: dedupe, store in the raw zone, then announce it.

A submission is identified by SHA-256(institution, SHA-256(bytes)), so the same
bytes from the same institution always map to one record. The order matters:
1. write the original to the raw zone (idempotent: same key, same bytes),
2. publish `records.ingested` and wait for the broker's acknowledgement,
3. write an acceptance marker; only now is the submission acknowledged.
A retry after a failure at any step repeats the missing steps and ends with one
record; a retry after success finds the marker and is answered "duplicate".

Waiting is bounded: when the broker does not acknowledge within the publish
timeout the caller is told "not accepted, retry". The producer is idempotent and
keeps the event queued until the broker is back, so the announcement is not
abandoned: it stays pending here, a retry of the same record joins it instead of
publishing a second event, and once it lands the marker is written.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from faststream.kafka import KafkaBroker

from medshare_shared.events import (
    EventEnvelope,
    RecordIngested,
    RecordKind,
    deterministic_id,
    envelope,
)
from medshare_shared.ids import record_id_for
from medshare_shared.kafka import publish_event
from medshare_shared.object_store import ObjectStore
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

SERVICE = "ingest"
T = TypeVar("T")
# How many announced record ids a process remembers (a few MB at most).
RECENTLY_ANNOUNCED = 50_000


@dataclass(frozen=True)
class Submission:
    institution: str
    kind: RecordKind
    content_type: str
    data: bytes
    submission_id: str | None = None
    door: str | None = None


@dataclass(frozen=True)
class Accepted:
    record_id: str
    sha256: str
    duplicate: bool


class NotAccepted(RuntimeError):
    """A dependency is unavailable; nothing was acknowledged, the client should retry."""


class PublishFailed(NotAccepted):
    """The broker did not acknowledge in time; the submission is not accepted (retry later)."""


class StoreUnavailable(NotAccepted):
    """The raw zone could not be written or read in time."""


def raw_key_for(institution: str, record_id: str) -> str:
    return f"records/{institution}/{record_id}"


class SubmissionDesk:
    def __init__(
        self,
        store: ObjectStore,
        broker: KafkaBroker,
        topics: Topics,
        raw_bucket: str,
        publish_timeout_s: float = 10.0,
        store_timeout_s: float = 60.0,
        io_threads: int = 32,
    ):
        self.store = store
        self.broker = broker
        self.topics = topics
        self.raw_bucket = raw_bucket
        self.publish_timeout_s = publish_timeout_s
        self.store_timeout_s = store_timeout_s
        # record id -> its announcement (publish, then marker) still in progress
        self.pending: dict[str, asyncio.Task[None]] = {}
        # Record ids announced lately by this process. A concurrent copy that checked
        # for the marker before it was written finds the record here after its own
        # raw write, and is a duplicate instead of a second announcement.
        self.announced: OrderedDict[str, None] = OrderedDict()
        # Blocking work (object-store calls, DICOM parsing) runs here: the default pool
        # (CPUs + 4 threads) would queue concurrent clients' S3 round trips behind each other.
        self.io = ThreadPoolExecutor(io_threads, thread_name_prefix="ingest-io")

    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self.io, functools.partial(function, *args)
        )

    def close(self) -> None:
        self.io.shutdown(wait=False, cancel_futures=True)

    async def accept(self, submission: Submission, trace_id: str | None = None) -> Accepted:
        sha256 = await self._sha256(submission.data)
        record_id = record_id_for(submission.institution, sha256)
        marker_key = f"accepted/{record_id}"
        if await self._stored(
            self.run_blocking(self.store.exists_sync, self.raw_bucket, marker_key)
        ):
            log.info("duplicate submission", extra={"record_id": record_id, "sha256": sha256})
            return Accepted(record_id, sha256, duplicate=True)

        task = self.pending.get(record_id)
        joined = task is not None
        if task is None:
            raw_key = raw_key_for(submission.institution, record_id)
            await self._stored(
                self.store.put(self.raw_bucket, raw_key, submission.data, submission.content_type)
            )
            if record_id in self.announced:  # a concurrent copy finished meanwhile
                log.info("duplicate submission", extra={"record_id": record_id})
                return Accepted(record_id, sha256, duplicate=True)
            task = self.pending.get(record_id)  # another request may have started meanwhile
            joined = task is not None
            if task is None:
                event = self._ingested_event(submission, record_id, sha256, raw_key, trace_id)
                task = self._start_announcement(record_id, event, marker_key)
        await self._await_announcement(record_id, task)
        log.info(
            "accepted",
            extra={"record_id": record_id, "sha256": sha256, "size": len(submission.data)},
        )
        return Accepted(record_id, sha256, duplicate=joined)

    def _ingested_event(
        self,
        submission: Submission,
        record_id: str,
        sha256: str,
        raw_key: str,
        trace_id: str | None,
    ) -> EventEnvelope[RecordIngested]:
        return envelope(
            RecordIngested(
                record_id=record_id,
                institution=submission.institution,
                kind=submission.kind,
                content_type=submission.content_type,
                sha256=sha256,
                size=len(submission.data),
                raw_bucket=self.raw_bucket,
                raw_key=raw_key,
                submission_id=submission.submission_id,
                received_at=datetime.now(UTC),
                door=submission.door,
            ),
            event_type="records.ingested",
            producer=SERVICE,
            trace_id=trace_id,
            event_id=deterministic_id("records.ingested", record_id),
        )

    def _start_announcement(
        self, record_id: str, event: EventEnvelope[RecordIngested], marker_key: str
    ) -> asyncio.Task[None]:
        async def announce() -> None:
            await publish_event(
                self.broker, self.topics.ingested, event, key=record_id, service=SERVICE
            )
            await self.run_blocking(
                self.store.put_sync, self.raw_bucket, marker_key, record_id.encode(), "text/plain"
            )
            self.announced[record_id] = None
            while len(self.announced) > RECENTLY_ANNOUNCED:
                self.announced.popitem(last=False)
            log.info("announced", extra={"record_id": record_id})

        task = asyncio.create_task(announce(), name=f"announce-{record_id}")
        self.pending[record_id] = task

        def finished(done: asyncio.Task[None]) -> None:
            if self.pending.get(record_id) is done:
                del self.pending[record_id]
            if not done.cancelled() and done.exception() is not None:
                log.warning(
                    "announcement failed",
                    extra={"record_id": record_id, "error": type(done.exception()).__name__},
                )

        task.add_done_callback(finished)
        return task

    async def _await_announcement(self, record_id: str, task: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(task), self.publish_timeout_s)
        except TimeoutError:
            log.warning("broker did not acknowledge in time", extra={"record_id": record_id})
            raise PublishFailed("event broker did not acknowledge in time") from None
        except Exception as error:
            raise PublishFailed(f"event broker unavailable ({type(error).__name__})") from None

    async def _sha256(self, data: bytes) -> str:
        if len(data) < 1024 * 1024:
            return hashlib.sha256(data).hexdigest()
        return await self.run_blocking(lambda: hashlib.sha256(data).hexdigest())

    async def _stored(self, operation: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(operation, self.store_timeout_s)
        except TimeoutError:
            raise StoreUnavailable("raw zone did not answer in time") from None
        except Exception as error:
            log.warning("raw zone unavailable", extra={"error": type(error).__name__})
            raise StoreUnavailable(f"raw zone unavailable ({type(error).__name__})") from None
