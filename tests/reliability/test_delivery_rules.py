"""The pure rules behind delivery: which errors are outages, what a reason may say,
how trace context is read, how backoff grows, what a replay selects."""

from __future__ import annotations

import logging
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from minio.error import S3Error
from pydantic import BaseModel, ValidationError
from pymongo.errors import AutoReconnect
from urllib3.exceptions import MaxRetryError

from medshare_infra.replay import DeadLetter, ReplayReport, parse_since, select
from medshare_shared.consumer import (
    PermanentError,
    RetryPolicy,
    handle_with_retries,
    is_dependency_error,
    trace_id_from_traceparent,
)
from medshare_shared.events import RecordRejected, RejectedEvent, envelope
from medshare_shared.log import JsonFormatter, describe_error, redact_library_message
from medshare_shared.metrics import reason_category


class StoreUnavailable(RuntimeError):
    """Like a service's own wrapper of a driver error."""


def wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except Exception:
            raise StoreUnavailable("raw zone unavailable") from None
    except StoreUnavailable as outer:
        return outer


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message", "resource", "request", "host")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (AutoReconnect("mongo away"), True),
        (MaxRetryError(None, "/bucket"), True),  # type: ignore[arg-type]
        (s3_error("ServiceUnavailable"), True),
        (s3_error("NoSuchKey"), False),
        (wrapped(ConnectionRefusedError()), True),  # `from None` still keeps __context__
        (wrapped(ValueError()), False),
        (PermanentError("bad input"), False),
        (KeyError("x"), False),
    ],
)
def test_outages_are_told_from_failures_through_wrappers(
    error: BaseException, outage: bool
) -> None:
    assert is_dependency_error(error) is outage


def test_a_reason_never_quotes_a_library_message_or_an_input_value() -> None:
    class Patient(BaseModel):
        name: int

    with pytest.raises(ValidationError) as caught:
        Patient.model_validate({"name": "Jane Roe"})
    assert describe_error(caught.value) == "invalid event: name (int_parsing)"
    with pytest.raises(ValidationError) as caught:
        Patient.model_validate({"Jane Roe": 1})
    assert "Jane" not in describe_error(caught.value)  # an input key is not echoed either
    try:
        int("Jane Roe")
    except ValueError as error:
        reason = describe_error(error)
    assert reason.startswith("ValueError at test_delivery_rules.py:") and "Jane" not in reason
    assert describe_error(PermanentError("truncated DICOM")) == "PermanentError: truncated DICOM"


def test_library_log_lines_lose_their_quoted_values_and_tracebacks() -> None:
    assert redact_library_message("pydicom", "Invalid value for VR UI: '1.2.3'") == (
        "Invalid value for VR UI: <redacted>"
    )
    assert redact_library_message("medshare_ingest", "kept 'as is'") == "kept 'as is'"
    try:
        raise ValueError("Jane Roe")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f.py", 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    line = JsonFormatter("test").format(record)
    assert "Jane" not in line and "ValueError at" in line


def test_traceparent_headers_are_read_strictly() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_from_traceparent(f"00-{trace}-00f067aa0ba902b7-01".encode()) == trace
    assert trace_id_from_traceparent("00-short-00f067aa0ba902b7-01") is None
    assert trace_id_from_traceparent(f"00-{'0' * 32}-00f067aa0ba902b7-01") is None  # invalid
    assert trace_id_from_traceparent(b"\xff\xfe") is None
    assert trace_id_from_traceparent(None) is None


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=5.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def test_handle_with_retries_is_bounded_and_lets_outages_through() -> None:
    calls: list[int] = []
    letters: list[tuple[str, int]] = []

    async def failing() -> None:
        calls.append(1)
        raise KeyError("bug")

    async def dead_letter(reason: str, attempts: int) -> None:
        letters.append((reason, attempts))

    policy = RetryPolicy(max_attempts=3, base_delay_s=0.0)
    await handle_with_retries(failing, dead_letter=dead_letter, policy=policy)
    assert len(calls) == 3 and letters[0][1] == 3 and letters[0][0].startswith("KeyError at")

    async def away() -> None:
        raise ConnectionRefusedError()

    with pytest.raises(ConnectionRefusedError):  # not dead-lettered: the caller backs off
        await handle_with_retries(away, dead_letter=dead_letter, policy=policy)
    assert len(letters) == 1


def test_since_takes_an_age_or_a_time() -> None:
    now = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2025-01-01T10:00", now) == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert parse_since(None, now) is None


def letter(position: str, stage: str, offset: int, age_h: float = 0) -> DeadLetter:
    event: RejectedEvent = envelope(
        RecordRejected(
            stage=stage,
            reason="r",
            source_topic="records.ingested",
            source_partition=0,
            source_offset=offset,
        ),
        event_type="records.rejected",
        producer=stage,
        event_id=uuid.uuid4(),
    )
    event = event.model_copy(update={"occurred_at": datetime.now(UTC) - timedelta(hours=age_h)})
    return DeadLetter(position, event)


def test_replay_selects_by_stage_and_age_skips_journaled_and_repeated_originals() -> None:
    letters = [
        letter("rej/0/0", "anonymizer", 10),
        letter("rej/0/1", "ingest", 11),
        letter("rej/0/2", "anonymizer", 12, age_h=5),
        letter("rej/0/3", "anonymizer", 13),
        letter("rej/0/4", "anonymizer", 10),  # the same original dead-lettered twice
    ]
    report = ReplayReport()
    since = datetime.now(UTC) - timedelta(hours=1)
    chosen = select(letters, {"rej/0/3"}, report, "anonymizer", since)
    assert [c.position for c in chosen] == ["rej/0/0"]
    assert (report.filtered_out, report.already_replayed, report.same_original) == (2, 1, 1)


def test_quarantine_reasons_make_few_labels() -> None:
    assert reason_category("burned-in annotation suspected (Modality=US) and more") == (
        "burned-in annotation suspected"
    )
    assert reason_category("verifier found source identifiers in: PatientName") == (
        "verifier found source identifiers in"
    )


def test_the_anonymizer_output_is_a_function_of_its_input(released_templates: list[bytes]) -> None:
    """Redoing a record after a crash writes the same bytes: any interleaving of two
    replicas' writes leaves the object and its catalog entry in agreement."""
    import json

    from medshare_anonymizer.deidentify import Deidentifier
    from medshare_anonymizer.pseudonyms import PseudonymKeys
    from medshare_infra.samples import sample_case_reports

    first, second = (
        Deidentifier(keys=PseudonymKeys(b"k" * 32), dicom_options=frozenset()) for _ in range(2)
    )
    inputs = [("dicom", "application/dicom", data) for data in released_templates]
    inputs += [
        ("case_report", "application/json", json.dumps(report).encode())
        for report in sample_case_reports(5, seed=8)
    ]
    for kind, media, data in inputs:
        one = first.run(kind, media, data, "st-x")  # type: ignore[arg-type]
        two = second.run(kind, media, data, "st-x")  # type: ignore[arg-type]
        assert one.status == two.status == "ok"
        assert one.output == two.output and one.patient_pseudonym == two.patient_pseudonym
