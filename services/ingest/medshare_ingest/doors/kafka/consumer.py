"""The Kafka door's consumer: institutions publish raw records to `records.submitted`.

Ingest treats them exactly like HTTP submissions (same limits, same validation,
same dedupe); what it refuses goes to `records.rejected` with the reason (never the
content). The offset is committed only after the record is accepted or rejected:
when the raw zone or the broker is unavailable the handler raises, the consumer
seeks back and the record comes again, so nothing is lost in between.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from medshare_ingest.doors.kafka.messages import ReadMessage, UnreadableMessage, read_submitted
from medshare_ingest.limits import IngestLimits, InvalidSubmission
from medshare_ingest.metrics import INGEST_SUBMISSIONS
from medshare_ingest.settings import IngestSettings
from medshare_ingest.submissions import SERVICE, NotAccepted, SubmissionDesk
from medshare_ingest.validation import check_case_report, validate_dicom
from medshare_shared.delivery import group_subscriber
from medshare_shared.events import (
    IngestedEvent,
    RecordRejected,
    RejectedEvent,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import publish_event
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_CONSUMED, EVENTS_RETRIED
from medshare_shared.topics import INGESTED, REJECTED, SUBMITTED, Topics

log = logging.getLogger(__name__)

# Pause before a record is handed back after an outage, so the consumer does not spin.
RETRY_PAUSE_S = 1.0


async def raw_body(message: Any) -> bytes:
    """FastStream decoder: keep the value as bytes; `read_submitted` knows both forms."""
    body: bytes = message.body
    return body


class SubmittedHandler:
    def __init__(
        self,
        desk: SubmissionDesk,
        broker: KafkaBroker,
        topics: Topics,
        limits: IngestLimits | None = None,
        publish_timeout_s: float = 10.0,
    ):
        self.desk = desk
        self.broker = broker
        self.topics = topics
        self.limits = limits or IngestLimits()
        self.publish_timeout_s = publish_timeout_s

    async def on_submitted(self, body: bytes, message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)  # one record per call (not a batch subscriber)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.submitted).inc()
        source = (record.partition, record.offset)
        try:
            read = read_submitted(body, record.headers or [])
        except UnreadableMessage as error:
            await self.reject(str(error), error.institution, error.submission_id, source, None)
            return
        current_trace_id.set(read.trace_id)
        try:
            await self.validate(read)
        except InvalidSubmission as error:
            submission = read.submission
            await self.reject(
                str(error), submission.institution, submission.submission_id, source, read
            )
            return
        try:
            accepted = await self.desk.accept(read.submission, trace_id=read.trace_id)
        except NotAccepted as error:
            # Not committed: the consumer seeks back and this record is handled again.
            INGEST_SUBMISSIONS.labels("kafka", "unavailable").inc()
            EVENTS_RETRIED.labels(SERVICE, self.topics.submitted).inc()
            log.warning("submission not accepted yet, will retry", extra={"error": str(error)})
            await asyncio.sleep(RETRY_PAUSE_S)
            raise
        INGEST_SUBMISSIONS.labels("kafka", "duplicate" if accepted.duplicate else "accepted").inc()

    async def validate(self, read: ReadMessage) -> None:
        submission = read.submission
        try:
            if submission.kind == "dicom":
                await self.desk.run_blocking(validate_dicom, submission.data, self.limits)
            else:
                await self.desk.run_blocking(
                    check_case_report, submission.data, submission.content_type, self.limits
                )
        except InvalidSubmission:
            raise
        except Exception as error:
            # Unexpected, but retrying cannot help: refuse rather than loop on this record.
            raise InvalidSubmission(f"could not be validated ({type(error).__name__})") from None

    async def reject(
        self,
        reason: str,
        institution: str | None,
        submission_id: str | None,
        source: tuple[int, int],
        read: ReadMessage | None,
    ) -> None:
        partition, offset = source
        rejected = envelope(
            RecordRejected(
                stage="ingest",
                reason=reason,
                institution=institution,
                submission_id=submission_id,
                source_topic=self.topics.submitted,
                source_partition=partition,
                source_offset=offset,
                source_event_id=read.event_id if read else None,
            ),
            event_type="records.rejected",
            producer=SERVICE,
            trace_id=read.trace_id if read else None,
            # One rejection per source record, however often it is redelivered.
            event_id=deterministic_id(
                "records.rejected", self.topics.submitted, str(partition), str(offset)
            ),
        )
        # Bounded like every publish; a timeout raises, so the record is not committed.
        await asyncio.wait_for(
            publish_event(
                self.broker,
                self.topics.rejected,
                rejected,
                key=submission_id or f"{partition}:{offset}",
                service=SERVICE,
            ),
            self.publish_timeout_s,
        )
        INGEST_SUBMISSIONS.labels("kafka", "refused").inc()
        log.info("rejected submission", extra={"reason": reason, "partition": partition,
                                               "offset": offset})  # fmt: skip


SUBMITTED_DESCRIPTION = (
    SUBMITTED.description
    + " Two forms: (1) the value is a JSON EventEnvelope[RecordSubmitted] with the bytes in "
    "payload.data_base64; (2) the value is the record's bytes as they are, with the headers "
    "medshare-institution, medshare-submission-id and content-type (application/dicom, "
    "application/json or application/fhir+json). Refusals go to records.rejected with the "
    "reason; the offset is committed only once a record is accepted or refused."
)


def declare_kafka_door(
    broker: KafkaBroker, handler: SubmittedHandler, settings: IngestSettings
) -> None:
    """The consumer of records.submitted and the topics ingest writes (also the AsyncAPI doc)."""
    topics = settings.topics
    group_subscriber(
        broker,
        topics.submitted,
        settings=settings,
        max_workers=settings.ingest_kafka_workers,  # one consumer per worker, partitions split
        decoder=raw_body,
        title=f"{topics.submitted}:Submit",
        description=SUBMITTED_DESCRIPTION,
    )(handler.on_submitted)
    broker.publisher(
        topics.ingested,
        title=f"{topics.ingested}:Ingested",
        description=INGESTED.description + " Keyed by record_id.",
        schema=IngestedEvent,
    )
    broker.publisher(
        topics.rejected,
        title=f"{topics.rejected}:Rejected",
        description=REJECTED.description
        + " Ingest's refusals of records.submitted messages carry stage=ingest, the "
        "submission id and the source partition/offset.",
        schema=RejectedEvent,
    )
