"""What an institution may publish to `records.submitted`, and how ingest reads it.

Two forms, documented in docs/asyncapi.yaml:

- **envelope**: the value is a JSON `EventEnvelope[RecordSubmitted]` (institution,
  submission id, kind, content type and the bytes in base64);
- **raw**: the value is the record's bytes as they are (a DICOM Part 10 file, a JSON
  case report, a FHIR Bundle) and the headers carry `medshare-institution`,
  `medshare-submission-id` and `content-type`. No base64, so large instances cost
  a third less on the wire.

Either way the parse ends in a `Submission`, or an `UnreadableMessage` whose reason
goes to `records.rejected` (never the content).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from medshare_ingest.submissions import Submission
from medshare_ingest.validation import FHIR_JSON, FHIR_MEDIA_TYPES, field_path, model_field_names
from medshare_shared.events import RecordKind, SubmittedEvent
from medshare_shared.json_bounds import loads_bounded

INSTITUTION_HEADER = "medshare-institution"
SUBMISSION_ID_HEADER = "medshare-submission-id"
CONTENT_TYPE_HEADER = "content-type"
TRACEPARENT_HEADER = "traceparent"
KIND_FOR_MEDIA_TYPE: dict[str, RecordKind] = {
    "application/dicom": "dicom",
    "application/json": "case_report",
    FHIR_JSON: "case_report",
    "application/json+fhir": "case_report",
}

ENVELOPE_FIELDS = model_field_names(SubmittedEvent)


class UnreadableMessage(ValueError):
    """The message is neither form; what could be read of it is kept for the rejection."""

    def __init__(
        self, reason: str, institution: str | None = None, submission_id: str | None = None
    ):
        super().__init__(reason)
        self.institution = institution
        self.submission_id = submission_id


@dataclass(frozen=True)
class ReadMessage:
    submission: Submission
    trace_id: str | None
    event_id: str | None  # the envelope's, when there is one


def valid_institution(name: str) -> bool:
    return 0 < len(name) <= 64 and all(ch.isalnum() or ch in "-_." for ch in name)


def read_submitted(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> ReadMessage:
    named = {name.lower(): raw.decode("utf-8", "replace") for name, raw in headers}
    if INSTITUTION_HEADER in named:
        return _read_raw(value or b"", named)
    return _read_envelope(value or b"")


def _read_raw(value: bytes, headers: dict[str, str]) -> ReadMessage:
    institution = headers[INSTITUTION_HEADER].strip()
    submission_id = headers.get(SUBMISSION_ID_HEADER, "").strip()[:128] or None
    if not valid_institution(institution):
        raise UnreadableMessage(
            f"header {INSTITUTION_HEADER} must be 1-64 of [A-Za-z0-9-_.]", None, submission_id
        )
    if submission_id is None:
        raise UnreadableMessage(f"header {SUBMISSION_ID_HEADER} is required", institution)
    media_type = headers.get(CONTENT_TYPE_HEADER, "").split(";")[0].strip().lower()
    kind = KIND_FOR_MEDIA_TYPE.get(media_type)
    if kind is None:
        raise UnreadableMessage(
            "header content-type must be application/dicom, application/json or "
            "application/fhir+json",
            institution,
            submission_id,
        )
    content_type = FHIR_JSON if media_type in FHIR_MEDIA_TYPES else media_type
    return ReadMessage(
        Submission(institution, kind, content_type, value, submission_id, door="kafka"),
        _trace_id(headers.get(TRACEPARENT_HEADER)),
        None,
    )


def _read_envelope(value: bytes) -> ReadMessage:
    try:
        event = SubmittedEvent.model_validate_json(value)
    except ValidationError as error:
        institution, submission_id = _salvage_ids(value)
        where = ", ".join(field_path(issue["loc"], ENVELOPE_FIELDS) for issue in error.errors())
        raise UnreadableMessage(
            f"not a records.submitted envelope (problems at: {where[:300]}) and no "
            f"{INSTITUTION_HEADER} header",
            institution,
            submission_id,
        ) from None
    payload = event.payload
    if not valid_institution(payload.institution):
        raise UnreadableMessage(
            "payload.institution must be 1-64 of [A-Za-z0-9-_.]", None, payload.submission_id
        )
    try:
        data = base64.b64decode(payload.data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableMessage(
            "payload.data_base64 is not base64", payload.institution, payload.submission_id
        ) from None
    media_type = payload.content_type.split(";")[0].strip().lower()
    if KIND_FOR_MEDIA_TYPE.get(media_type) != payload.kind:
        raise UnreadableMessage(
            f"payload.content_type does not fit kind {payload.kind}",
            payload.institution,
            payload.submission_id,
        )
    content_type = FHIR_JSON if media_type in FHIR_MEDIA_TYPES else media_type
    return ReadMessage(
        Submission(
            payload.institution,
            payload.kind,
            content_type,
            data,
            payload.submission_id[:128],
            door="kafka",
        ),
        event.trace_id,
        str(event.event_id),
    )


def _salvage_ids(value: bytes) -> tuple[str | None, str | None]:
    """Institution and submission id from a broken envelope, so the rejection reaches them."""
    try:
        document = loads_bounded(value)
        payload = document.get("payload") if isinstance(document, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(payload, dict):
        return None, None
    institution = payload.get("institution")
    submission_id = payload.get("submission_id")
    return (
        institution if isinstance(institution, str) and valid_institution(institution) else None,
        submission_id[:128] if isinstance(submission_id, str) else None,
    )


def _trace_id(traceparent: str | None) -> str | None:
    if traceparent and traceparent.count("-") == 3:
        trace = traceparent.split("-")[1]
        if len(trace) == 32 and all(ch in "0123456789abcdef" for ch in trace):
            return trace
    return None
