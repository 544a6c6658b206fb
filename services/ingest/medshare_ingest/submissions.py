"""Accepting one submission: dedupe, store in the raw zone, then announce it.

A submission is identified by SHA-256(institution, SHA-256(bytes)), so the same
bytes from the same institution always map to one record. The order matters:
1. write the original to the raw zone (idempotent: same key, same bytes),
2. publish `records.ingested` and wait for the broker's acknowledgement,
3. write an acceptance marker; only now is the submission acknowledged.
A retry after a failure at any step repeats the missing steps and ends with one
record; a retry after success finds the marker and is answered "duplicate".
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker

from medshare_shared.events import RecordIngested, RecordKind, deterministic_id, envelope
from medshare_shared.kafka import publish_event
from medshare_shared.object_store import ObjectStore
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

SERVICE = "ingest"


@dataclass(frozen=True)
class Submission:
    institution: str
    kind: RecordKind
    content_type: str
    data: bytes
    submission_id: str | None = None


@dataclass(frozen=True)
class Accepted:
    record_id: str
    sha256: str
    duplicate: bool


class PublishFailed(RuntimeError):
    """The broker did not acknowledge; the submission is not accepted (retry later)."""


def record_id_for(institution: str, sha256: str) -> str:
    return hashlib.sha256(f"{institution}\x1f{sha256}".encode()).hexdigest()[:32]


class SubmissionDesk:
    def __init__(self, store: ObjectStore, broker: KafkaBroker, topics: Topics, raw_bucket: str):
        self.store = store
        self.broker = broker
        self.topics = topics
        self.raw_bucket = raw_bucket

    async def accept(self, submission: Submission, trace_id: str | None = None) -> Accepted:
        sha256 = hashlib.sha256(submission.data).hexdigest()
        record_id = record_id_for(submission.institution, sha256)
        raw_key = f"records/{submission.institution}/{record_id}"
        marker_key = f"accepted/{record_id}"
        if await self.store.exists(self.raw_bucket, marker_key):
            log.info("duplicate submission", extra={"record_id": record_id, "sha256": sha256})
            return Accepted(record_id, sha256, duplicate=True)

        await self.store.put(self.raw_bucket, raw_key, submission.data, submission.content_type)
        event = envelope(
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
            ),
            event_type="records.ingested",
            producer=SERVICE,
            trace_id=trace_id,
            event_id=deterministic_id("records.ingested", record_id),
        )
        try:
            await publish_event(
                self.broker, self.topics.ingested, event, key=record_id, service=SERVICE
            )
        except Exception as error:
            log.warning(
                "publish failed", extra={"record_id": record_id, "error": type(error).__name__}
            )
            raise PublishFailed("event broker unavailable") from error
        await self.store.put(self.raw_bucket, marker_key, record_id.encode(), "text/plain")
        log.info(
            "accepted",
            extra={"record_id": record_id, "sha256": sha256, "size": len(submission.data)},
        )
        return Accepted(record_id, sha256, duplicate=False)
