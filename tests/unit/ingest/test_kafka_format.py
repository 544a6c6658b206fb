import base64
import json

import pytest

from medshare_ingest.doors.kafka.messages import UnreadableMessage, read_submitted
from medshare_shared.events import RecordSubmitted, envelope


def headers(**values: str) -> list[tuple[str, bytes]]:
    return [(name.replace("_", "-"), value.encode()) for name, value in values.items()]


def test_raw_form_takes_everything_from_headers() -> None:
    read = read_submitted(
        b"\x00DICOM bytes",
        headers(
            medshare_institution="clinic-a",
            medshare_submission_id="s-1",
            content_type="application/dicom",
            traceparent="00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
        ),
    )
    submission = read.submission
    assert (submission.institution, submission.submission_id) == ("clinic-a", "s-1")
    assert (submission.kind, submission.content_type) == ("dicom", "application/dicom")
    assert submission.data == b"\x00DICOM bytes"
    assert read.trace_id == "ab" * 16 and read.event_id is None


def test_raw_form_fhir_legacy_type_is_normalised() -> None:
    read = read_submitted(
        b"{}",
        headers(
            medshare_institution="clinic-a",
            medshare_submission_id="s-2",
            content_type="application/json+fhir; charset=utf-8",
        ),
    )
    assert read.submission.content_type == "application/fhir+json"
    assert read.submission.kind == "case_report"


@pytest.mark.parametrize(
    ("values", "reason", "institution"),
    [
        ({"medshare_institution": "bad name!", "medshare_submission_id": "s"}, "institution", None),
        ({"medshare_institution": "a", "content_type": "application/dicom"}, "submission-id", "a"),
        (
            {
                "medshare_institution": "a",
                "medshare_submission_id": "s",
                "content_type": "image/png",
            },
            "content-type",
            "a",
        ),
    ],
)
def test_raw_form_refusals_keep_what_could_be_read(
    values: dict[str, str], reason: str, institution: str | None
) -> None:
    with pytest.raises(UnreadableMessage, match=reason) as raised:
        read_submitted(b"x", headers(**values))
    assert raised.value.institution == institution


def submitted(**overrides: str) -> bytes:
    fields = {
        "institution": "clinic-b",
        "submission_id": "env-9",
        "kind": "case_report",
        "content_type": "application/json",
        "data_base64": base64.b64encode(b'{"a": 1}').decode(),
        **overrides,
    }
    event = envelope(RecordSubmitted(**fields), event_type="records.submitted", producer="t")  # type: ignore[arg-type]
    return event.model_dump_json().encode()


def test_envelope_form() -> None:
    read = read_submitted(submitted(), [])
    assert read.submission.data == b'{"a": 1}'
    assert read.submission.institution == "clinic-b"
    assert read.event_id is not None and read.trace_id


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (submitted(data_base64="***"), "base64"),
        (submitted(kind="dicom"), "does not fit kind"),
        (submitted(institution="a/b"), "institution"),
        (b"\xff\xfe not json", "not a records.submitted envelope"),
        (b'{"payload": {"institution": "clinic-c", "submission_id": "x"}}', "payload"),
    ],
)
def test_envelope_refusals(value: bytes, reason: str) -> None:
    with pytest.raises(UnreadableMessage, match=reason):
        read_submitted(value, [])


def test_broken_envelope_still_names_its_sender_not_its_content() -> None:
    value = json.dumps(
        {"payload": {"institution": "clinic-c", "submission_id": "x-1", "data_base64": 5,
                     "patient": "Quimby"}}
    ).encode()  # fmt: skip
    with pytest.raises(UnreadableMessage) as raised:
        read_submitted(value, [])
    assert (raised.value.institution, raised.value.submission_id) == ("clinic-c", "x-1")
    assert "Quimby" not in str(raised.value)
