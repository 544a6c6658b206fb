"""The catalog record: one MongoDB document per record id, and the one builder of its facts.

The folds (records.py) and the synthetic records of tests and benchmarks
(synthetic.py) both build a record's facts here, so the two cannot drift apart.
`CatalogRecord` names the fields the folds write and the API reads; it is a
TypedDict because the stored document is served as it is (a class would change
which fields a response carries).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from medshare_shared.events import ModelResult, RecordDeidentified, RecordQuarantined

# A raw MongoDB document, filter, projection or pipeline stage (the one alias for them).
Document = dict[str, Any]


class Fact(TypedDict):
    """When a fact's event happened, which it was, and the two as one sortable rank."""

    at: datetime
    event_id: str
    rank: str


class StoredObject(TypedDict):
    bucket: str
    key: str
    sha256: str
    size: int
    content_type: str


class Release(TypedDict):
    state: str  # released, withheld, rejected, pending
    reason: str | None


class CatalogRecord(TypedDict, total=False):
    """One record's document: facts from events and stewards, then what derive.py derives."""

    _id: str
    revision: int
    first_seen_at: datetime
    # facts from events
    deid: Fact
    cataloged: bool
    kind: str
    institution: str
    patient_pseudonym: str
    ingested_at: datetime
    object: StoredObject
    metadata: Document
    deidentification: Document
    object_outside_shared_zone: bool
    dicom: Document
    models: dict[str, Document]
    quarantine: Document
    reviews: list[Document]
    # one DICOM instance, one listed record (instances.py)
    door: str | None
    instance: Document
    duplicate_of: str | None
    instance_conflict: bool
    provenances: list[Document]
    # derived from the facts (derive.py)
    modality: str | None
    body_part: str | None
    study_year: int | None
    age_band: str | None
    sex: str | None
    zip3: str | None
    device: str | None
    diagnosis_codes: list[str]
    text_tokens: list[str]
    results: list[Document]
    release: Release


def to_millis(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: compare and store event times at that precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def model_key(model_name: str, model_version: str) -> str:
    # Field names may not contain dots; versions do ("1.0.0").
    return f"{model_name}@{model_version}".replace(".", "_")


def as_record(document: Document | None) -> CatalogRecord | None:
    """A document read from the records collection, typed."""
    return cast(CatalogRecord | None, document)


def fact_rank(at: datetime, event_id: str) -> str:
    """(event time, event id) as one string that sorts like the pair.

    The time is fixed width, so comparing ranks compares times first, ids on a tie.
    """
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S.%f}|{event_id}"


def fact(occurred_at: datetime, event_id: str) -> Fact:
    at = to_millis(occurred_at)
    return {"at": at, "event_id": event_id, "rank": fact_rank(at, event_id)}


def deidentified_facts(
    record: RecordDeidentified,
    event_id: str,
    occurred_at: datetime,
    *,
    outside: bool,
    dicom: Document | None,
    listed_by_instance: bool = False,
) -> Document:
    """What a de-identified event sets: the record, its object and (images) its header.

    With `listed_by_instance`, whether the record is listed (`cataloged`) is left to
    the instance index, which lists one record per SOP Instance UID (instances.py).
    """
    facts: Document = {
        "deid": fact(occurred_at, event_id),
        "kind": record.kind,
        "institution": record.institution,
        "door": record.door,
        "patient_pseudonym": record.patient_pseudonym,
        "ingested_at": to_millis(record.ingested_at),
        "object": {
            "bucket": record.shared_bucket,
            "key": record.shared_key,
            "sha256": record.sha256,
            "size": record.size,
            "content_type": record.content_type,
        },
        "metadata": record.metadata,
        "deidentification": record.report.model_dump(),
        "object_outside_shared_zone": outside,
    }
    if not listed_by_instance:
        facts["cataloged"] = True
    if dicom is not None:
        facts["dicom"] = dicom
    return facts


def inferred_facts(result: ModelResult, event_id: str, occurred_at: datetime) -> Document:
    """What an inference event sets: one model's result, under `models.<name@version>`."""
    path = f"models.{model_key(result.model_name, result.model_version)}"
    return {path: {**result.model_dump(), **fact(occurred_at, event_id)}}


def quarantined_facts(record: RecordQuarantined, event_id: str, occurred_at: datetime) -> Document:
    return {
        "institution": record.institution,
        "kind": record.kind,
        "quarantine": {
            "stage": record.stage,
            "reason": record.reason,
            "findings": record.findings,
            "candidate": record.candidate.model_dump() if record.candidate else None,
            "regions": [region.model_dump() for region in record.regions],
            **fact(occurred_at, event_id),
        },
    }
