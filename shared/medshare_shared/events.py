"""Versioned event envelope and the payload schema of every topic.

Every Kafka record value is an `EventEnvelope` serialised as JSON. Only
`records.submitted` may carry patient data; every other payload holds references,
hashes and de-identified fields.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

RecordKind = Literal["dicom", "case_report"]

# Namespace for deterministic ids: the same input always yields the same event id,
# so a replayed or retried event is recognisable downstream.
EVENT_NAMESPACE = uuid.UUID("6f1f8f52-3c1e-4a43-9a57-0b6f3f0d2a10")


def deterministic_id(*parts: str) -> uuid.UUID:
    """A UUID derived from its inputs (uuid5), used for idempotent event ids."""
    return uuid.uuid5(EVENT_NAMESPACE, "\x1f".join(parts))


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordSubmitted(Payload):
    """A raw record an institution publishes straight to Kafka (contains PHI)."""

    institution: str
    submission_id: str
    kind: RecordKind
    content_type: str
    data_base64: str


class RecordIngested(Payload):
    record_id: str
    institution: str
    kind: RecordKind
    content_type: str
    sha256: str
    size: int
    raw_bucket: str
    raw_key: str
    submission_id: str | None = None
    received_at: datetime
    # Which door it came in by (http, stow, dimse, kafka, bulk): provenance, never PHI.
    door: str | None = None


class DeidReport(Payload):
    profile: str
    options: list[str] = Field(default_factory=list)
    actions: dict[str, int] = Field(default_factory=dict)
    verifier: Literal["passed", "failed"] = "passed"
    findings: list[str] = Field(default_factory=list)


class RecordDeidentified(Payload):
    record_id: str
    institution: str
    kind: RecordKind
    patient_pseudonym: str
    shared_bucket: str
    shared_key: str
    sha256: str
    size: int
    content_type: str
    ingested_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    report: DeidReport
    door: str | None = None


class ModelResult(Payload):
    model_name: str
    model_version: str
    outputs: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = None
    error: str | None = None


class RecordInferred(Payload):
    record_id: str
    patient_pseudonym: str
    result: ModelResult


class FlaggedRegion(Payload):
    """Where identifying pixels are expected, as fractions of the frame (0..1)."""

    x0: float = Field(ge=0, le=1)
    y0: float = Field(ge=0, le=1)
    x1: float = Field(ge=0, le=1)
    y1: float = Field(ge=0, le=1)
    source: str = ""


class RecordQuarantined(Payload):
    record_id: str
    institution: str
    kind: RecordKind
    stage: str
    reason: str
    findings: list[str] = Field(default_factory=list)
    raw_key: str | None = None
    # The record as it would be released, its object in the held zone (never the shared
    # zone): what a steward reviews, and what a steward's release copies to the shared zone.
    candidate: RecordDeidentified | None = None
    regions: list[FlaggedRegion] = Field(default_factory=list)


class RecordRejected(Payload):
    stage: str
    reason: str
    institution: str | None = None
    record_id: str | None = None
    submission_id: str | None = None
    attempts: int = 1
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    source_event_id: str | None = None


PayloadT = TypeVar("PayloadT", bound=Payload)

SCHEMA_VERSION = 1


class EventEnvelope(BaseModel, Generic[PayloadT]):
    """What every topic carries: who produced what, when, in which trace."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    event_type: str
    schema_version: int = SCHEMA_VERSION
    occurred_at: datetime
    trace_id: str
    producer: str
    payload: PayloadT


def new_trace_id() -> str:
    return uuid.uuid4().hex


def envelope(
    payload: PayloadT,
    *,
    event_type: str,
    producer: str,
    trace_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> EventEnvelope[PayloadT]:
    """Wrap a payload; pass `event_id` (from `deterministic_id`) to make retries idempotent."""
    # Parametrise by the payload's own class: pydantic serialises a field by its
    # declared type, so an unparametrised envelope would drop the payload's fields.
    generic: Any = EventEnvelope
    typed: Any = generic[type(payload)]
    return typed(
        event_id=event_id or uuid.uuid4(),
        event_type=event_type,
        occurred_at=datetime.now(UTC),
        trace_id=trace_id or new_trace_id(),
        producer=producer,
        payload=payload,
    )


IngestedEvent = EventEnvelope[RecordIngested]
DeidentifiedEvent = EventEnvelope[RecordDeidentified]
InferredEvent = EventEnvelope[RecordInferred]
QuarantinedEvent = EventEnvelope[RecordQuarantined]
RejectedEvent = EventEnvelope[RecordRejected]
SubmittedEvent = EventEnvelope[RecordSubmitted]
