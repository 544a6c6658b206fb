from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from medshare_shared.events import (
    DeidentifiedEvent,
    DeidReport,
    IngestedEvent,
    RecordDeidentified,
    RecordIngested,
    deterministic_id,
    envelope,
)


def ingested() -> RecordIngested:
    return RecordIngested(
        record_id="abc",
        institution="st-elsewhere",
        kind="dicom",
        content_type="application/dicom",
        sha256="0" * 64,
        size=10,
        raw_bucket="raw",
        raw_key="records/st-elsewhere/abc",
        received_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def test_envelope_round_trips_through_json() -> None:
    event = envelope(ingested(), event_type="records.ingested", producer="ingest")
    parsed = IngestedEvent.model_validate_json(event.model_dump_json())
    assert parsed == event
    assert parsed.schema_version == 1
    assert len(parsed.trace_id) == 32


def test_envelope_carries_required_headers_fields() -> None:
    data = envelope(ingested(), event_type="records.ingested", producer="ingest").model_dump()
    assert {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "trace_id",
        "producer",
    } <= set(data)


def test_payload_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="patient_name"):
        RecordIngested.model_validate({**ingested().model_dump(), "patient_name": "DOE^JOHN"})


def test_payload_refuses_unknown_kind() -> None:
    with pytest.raises(ValidationError, match="kind"):
        RecordIngested.model_validate({**ingested().model_dump(), "kind": "video"})


def test_wrong_payload_type_for_topic_is_refused() -> None:
    event = envelope(ingested(), event_type="records.ingested", producer="ingest")
    with pytest.raises(ValidationError):
        DeidentifiedEvent.model_validate_json(event.model_dump_json())


def test_deterministic_ids_are_stable_and_distinct() -> None:
    assert deterministic_id("records.ingested", "a") == deterministic_id("records.ingested", "a")
    assert deterministic_id("records.ingested", "a") != deterministic_id("records.ingested", "b")
    # Part boundaries matter: ("ab", "c") is not ("a", "bc").
    assert deterministic_id("ab", "c") != deterministic_id("a", "bc")


def test_deidentified_payload_holds_report() -> None:
    record = RecordDeidentified(
        record_id="abc",
        institution="x",
        kind="case_report",
        patient_pseudonym="P-1",
        shared_bucket="shared",
        shared_key="case_report/abc.json",
        sha256="1" * 64,
        size=5,
        content_type="application/json",
        ingested_at=datetime.now(UTC),
        report=DeidReport(profile="HIPAA", actions={"NAME": 2}),
    )
    assert record.report.verifier == "passed"
