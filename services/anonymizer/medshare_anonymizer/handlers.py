"""Anonymizer event handler: raw zone in, shared zone and a topic out.

For each `records.ingested` event: read the original from the raw zone,
de-identify it, and then either write the result to the shared zone and publish
`records.deidentified`, or publish `records.quarantined` / `records.rejected`.
Output keys and event ids derive from the record id, so a redelivered event
overwrites the same object and republishes the same event id.
"""

from __future__ import annotations

import asyncio
import logging

from faststream.kafka import KafkaBroker

from medshare_anonymizer.deidentify import Deidentifier, DeidOutcome
from medshare_anonymizer.metrics import DEID_ACTIONS, QUARANTINED
from medshare_shared.consumer import (
    PermanentError,
    RetryPolicy,
    handle_with_retries,
    source_position,
)
from medshare_shared.events import (
    DeidReport,
    FlaggedRegion,
    IngestedEvent,
    RecordDeidentified,
    RecordIngested,
    RecordQuarantined,
    RecordRejected,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import publish_event
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_CONSUMED, reason_category
from medshare_shared.object_store import ObjectStore, StoredObject
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

SERVICE = "anonymizer"
EXTENSIONS = {"application/dicom": "dcm", "application/json": "json"}


def shared_key_for(institution: str, kind: str, record_id: str, content_type: str) -> str:
    return f"{institution}/{kind}/{record_id}.{EXTENSIONS[content_type]}"


class AnonymizerHandler:
    def __init__(
        self,
        deidentifier: Deidentifier,
        store: ObjectStore,
        broker: KafkaBroker,
        topics: Topics,
        shared_bucket: str,
        retry: RetryPolicy | None = None,
        held_bucket: str | None = None,
    ):
        self.deidentifier = deidentifier
        self.store = store
        self.broker = broker
        self.topics = topics
        self.shared_bucket = shared_bucket
        # Where quarantined candidates wait for a steward; None: they are not kept.
        self.held_bucket = held_bucket
        self.retry = retry or RetryPolicy()

    async def on_ingested(self, event: IngestedEvent) -> None:
        current_trace_id.set(event.trace_id)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.ingested).inc()

        async def work() -> None:
            await self.process(event)

        async def dead_letter(reason: str, attempts: int) -> None:
            await self.reject(event, reason, attempts)

        # Processing time is observed by the shared delivery middleware.
        await handle_with_retries(work, dead_letter=dead_letter, policy=self.retry)

    async def process(self, event: IngestedEvent) -> None:
        record = event.payload
        data = await self.store.get(record.raw_bucket, record.raw_key)
        outcome = await asyncio.to_thread(
            self.deidentifier.run, record.kind, record.content_type, data, record.institution
        )
        if outcome.status == "rejected":
            raise PermanentError(outcome.reason or "could not be de-identified")
        if outcome.status == "quarantined":
            await self.quarantine(event, outcome)
            return
        await self.release(event, outcome)

    def deidentified(
        self, record: RecordIngested, outcome: DeidOutcome, stored: StoredObject
    ) -> RecordDeidentified:
        assert outcome.patient_pseudonym is not None
        return RecordDeidentified(
            record_id=record.record_id,
            institution=record.institution,
            kind=record.kind,
            patient_pseudonym=outcome.patient_pseudonym,
            shared_bucket=stored.bucket,
            shared_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            content_type=outcome.content_type,
            ingested_at=record.received_at,
            metadata=outcome.metadata,
            features=outcome.features,
            report=DeidReport(
                profile=outcome.profile,
                options=outcome.options,
                actions=outcome.actions,
                verifier="failed" if outcome.findings else "passed",
                findings=outcome.findings,
            ),
            door=record.door,
        )

    async def release(self, event: IngestedEvent, outcome: DeidOutcome) -> None:
        record = event.payload
        assert outcome.output is not None and outcome.patient_pseudonym is not None
        # Under the institution's prefix: the catalog refuses an event whose key is not.
        key = shared_key_for(
            record.institution, record.kind, record.record_id, outcome.content_type
        )
        stored = await self.store.put(self.shared_bucket, key, outcome.output, outcome.content_type)
        deidentified = envelope(
            self.deidentified(record, outcome, stored),
            event_type="records.deidentified",
            producer=SERVICE,
            trace_id=event.trace_id,
            event_id=deterministic_id("records.deidentified", record.record_id),
        )
        await publish_event(
            self.broker,
            self.topics.deidentified,
            deidentified,
            key=outcome.patient_pseudonym,
            service=SERVICE,
        )
        for action, count in outcome.actions.items():
            DEID_ACTIONS.labels(action).inc(count)
        log.info("de-identified", extra={"record_id": record.record_id, "kind": record.kind})

    async def held_candidate(
        self, record: RecordIngested, outcome: DeidOutcome
    ) -> RecordDeidentified | None:
        """Keep the would-be release in the held zone, for a steward to see and decide."""
        if self.held_bucket is None or outcome.candidate is None:
            return None
        if outcome.patient_pseudonym is None:
            return None
        key = shared_key_for(
            record.institution, record.kind, record.record_id, outcome.content_type
        )
        stored = await self.store.put(
            self.held_bucket, key, outcome.candidate, outcome.content_type
        )
        return self.deidentified(record, outcome, stored)

    async def quarantine(self, event: IngestedEvent, outcome: DeidOutcome) -> None:
        record = event.payload
        candidate = await self.held_candidate(record, outcome)
        quarantined = envelope(
            RecordQuarantined(
                record_id=record.record_id,
                institution=record.institution,
                kind=record.kind,
                stage=SERVICE,
                reason=outcome.reason or "not provably de-identified",
                findings=outcome.findings,
                raw_key=record.raw_key,
                candidate=candidate,
                regions=[FlaggedRegion(**region) for region in outcome.regions],
            ),
            event_type="records.quarantined",
            producer=SERVICE,
            trace_id=event.trace_id,
            event_id=deterministic_id("records.quarantined", record.record_id),
        )
        await publish_event(
            self.broker, self.topics.quarantined, quarantined, key=record.record_id, service=SERVICE
        )
        QUARANTINED.labels(reason_category(outcome.reason)).inc()
        log.info("quarantined", extra={"record_id": record.record_id, "reason": outcome.reason})

    async def reject(self, event: IngestedEvent, reason: str, attempts: int) -> None:
        record: RecordIngested = event.payload
        rejected = envelope(
            RecordRejected(
                stage=SERVICE,
                reason=reason,
                institution=record.institution,
                record_id=record.record_id,
                submission_id=record.submission_id,
                attempts=attempts,
                source_topic=self.topics.ingested,
                source_event_id=str(event.event_id),
                **source_position(),
            ),
            event_type="records.rejected",
            producer=SERVICE,
            trace_id=event.trace_id,
            event_id=deterministic_id("records.rejected", SERVICE, record.record_id),
        )
        await publish_event(
            self.broker, self.topics.rejected, rejected, key=record.record_id, service=SERVICE
        )
        log.info("rejected", extra={"record_id": record.record_id, "reason": reason})
