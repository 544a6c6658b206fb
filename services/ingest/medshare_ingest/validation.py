"""Is this really a DICOM instance or a case report? Refuse clearly when not.

Reasons name the problem, never a value from the record.
"""

from __future__ import annotations

import io
import json

import pydicom
from pydantic import ValidationError
from pydicom.errors import InvalidDicomError

from medshare_shared.case_report import CaseReport


class InvalidSubmission(ValueError):
    """The submitted bytes are not acceptable; the message says why (no PHI)."""


def validate_dicom(data: bytes) -> None:
    if len(data) < 132 or data[128:132] != b"DICM":
        raise InvalidSubmission("not a DICOM Part 10 file: missing 128-byte preamble and 'DICM'")
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        sop_instance_uid = dataset.get("SOPInstanceUID")
        sop_class_uid = dataset.get("SOPClassUID")
    except InvalidDicomError as error:
        raise InvalidSubmission(f"invalid DICOM: {type(error).__name__}") from None
    except Exception as error:  # pydicom raises many types on corrupt element data
        raise InvalidSubmission(f"malformed DICOM data set ({type(error).__name__})") from None
    if not sop_instance_uid:
        raise InvalidSubmission("DICOM instance has no SOP Instance UID (0008,0018)")
    if not sop_class_uid:
        raise InvalidSubmission("DICOM instance has no SOP Class UID (0008,0016)")


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(root)"


def validate_case_report(data: bytes) -> CaseReport:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidSubmission(
            f"invalid JSON: {type(error).__name__} at {_position(error)}"
        ) from None
    try:
        return CaseReport.model_validate(document)
    except ValidationError as error:
        problems = [f"{_field_path(issue['loc'])}: {issue['msg']}" for issue in error.errors()]
        raise InvalidSubmission("invalid case report: " + "; ".join(problems)) from None


def _position(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno} column {error.colno}"
    return "byte level"
