"""The Kafka door: institutions publish raw records to `records.submitted`.

Ingest treats them exactly like HTTP submissions; what it refuses goes to
`records.rejected` with the reason (never the content). The offset is committed
only after the record is accepted or rejected, so nothing is lost in between.
"""

from __future__ import annotations

import base64
import binascii
import logging

from faststream.kafka import KafkaBroker

from medshare_ingest.submissions import SERVICE, Submission, SubmissionDesk
from medshare_ingest.validation import InvalidSubmission, validate_case_report, validate_dicom
from medshare_shared.events import (
    RecordRejected,
    SubmittedEvent,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import publish_event
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_CONSUMED
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)


class SubmittedHandler:
    def __init__(self, desk: SubmissionDesk, broker: KafkaBroker, topics: Topics):
        self.desk = desk
        self.broker = broker
        self.topics = topics

    async def on_submitted(self, event: SubmittedEvent) -> None:
        current_trace_id.set(event.trace_id)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.submitted).inc()
        payload = event.payload
        try:
            data = base64.b64decode(payload.data_base64, validate=True)
            if payload.kind == "dicom":
                validate_dicom(data)
            else:
                validate_case_report(data)
        except (binascii.Error, ValueError) as error:
            reason = str(error) if isinstance(error, InvalidSubmission) else "data is not base64"
            await self.reject(event, reason)
            return
        await self.desk.accept(
            Submission(
                institution=payload.institution,
                kind=payload.kind,
                content_type=payload.content_type,
                data=data,
                submission_id=payload.submission_id,
            ),
            trace_id=event.trace_id,
        )

    async def reject(self, event: SubmittedEvent, reason: str) -> None:
        rejected = envelope(
            RecordRejected(
                stage="ingest",
                reason=reason,
                institution=event.payload.institution,
                submission_id=event.payload.submission_id,
                source_topic=self.topics.submitted,
                source_event_id=str(event.event_id),
            ),
            event_type="records.rejected",
            producer=SERVICE,
            trace_id=event.trace_id,
            event_id=deterministic_id("records.rejected", str(event.event_id)),
        )
        await publish_event(
            self.broker,
            self.topics.rejected,
            rejected,
            key=event.payload.submission_id,
            service=SERVICE,
        )
        log.info("rejected submission", extra={"reason": reason})
