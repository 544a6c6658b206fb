"""The answer to a STOW-RS request (PS3.18 10.5): DICOM JSON with a
ReferencedSOPSequence for stored instances and a FailedSOPSequence with a FailureReason
for refused ones. HTTP status: 200 when all were stored, 202 when some failed, 409 when
none was stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pydicom

from medshare_ingest.limits import RefusalKind
from medshare_shared.dicom_bounds import DicomBounds, check_dicom_bounds

# PS3.4 / PS3.18 failure reasons.
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_DATA_SET_MISMATCH = 0xA900  # e.g. a StudyInstanceUID that differs from the URL's
FAILURE_PROCESSING = 0x0110
FAILURE_OUT_OF_RESOURCES = 0xA700
FAILURE_SOP_CLASS_NOT_SUPPORTED = 0x0122
FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122

FAILURE_FOR_REFUSAL: dict[RefusalKind, int] = {
    "too_large": FAILURE_OUT_OF_RESOURCES,
    "unsupported": FAILURE_CANNOT_UNDERSTAND,
    "unsupported_sop_class": FAILURE_SOP_CLASS_NOT_SUPPORTED,
    "unsupported_transfer_syntax": FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED,
    "invalid": FAILURE_CANNOT_UNDERSTAND,
}


@dataclass(frozen=True)
class InstanceOutcome:
    sop_class_uid: str
    sop_instance_uid: str
    failure_reason: int | None = None
    message: str | None = None
    record_id: str | None = None
    duplicate: bool = False


def identify(data: bytes, bounds: DicomBounds | None = None) -> tuple[str, str, str]:
    """(SOPClassUID, SOPInstanceUID, StudyInstanceUID) or empty strings when unreadable
    (or past the parsing bounds: pydicom inflates a whole deflated data set to read it)."""
    try:
        check_dicom_bounds(data, bounds)
        dataset = pydicom.dcmread(
            io.BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
        )
        return (
            str(dataset.get("SOPClassUID", "")),
            str(dataset.get("SOPInstanceUID", "")),
            str(dataset.get("StudyInstanceUID", "")),
        )
    except Exception:  # unreadable is reported by the validator with its reason
        return "", "", ""


def stow_response(outcomes: list[InstanceOutcome]) -> tuple[int, dict[str, Any]]:
    stored = [o for o in outcomes if o.failure_reason is None]
    failed = [o for o in outcomes if o.failure_reason is not None]
    body: dict[str, Any] = {}
    if stored:
        body["00081199"] = {
            "vr": "SQ",
            "Value": [_referenced(o) for o in stored],
        }
    if failed:
        body["00081198"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": {"vr": "UI", "Value": [o.sop_class_uid] if o.sop_class_uid else []},
                    "00081155": {
                        "vr": "UI",
                        "Value": [o.sop_instance_uid] if o.sop_instance_uid else [],
                    },
                    "00081197": {"vr": "US", "Value": [o.failure_reason]},
                    # ErrorComment carries the reason (never record content), in full:
                    # the failure code is the normative part, the text is for people.
                    "00000902": {"vr": "LO", "Value": [o.message or ""]},
                }
                for o in failed
            ],
        }
    if not failed:
        return 200, body
    return (202 if stored else 409), body


def _referenced(outcome: InstanceOutcome) -> dict[str, Any]:
    item: dict[str, Any] = {
        "00081150": {"vr": "UI", "Value": [outcome.sop_class_uid]},
        "00081155": {"vr": "UI", "Value": [outcome.sop_instance_uid]},
        # The original is not retrievable (it is PHI); the URN names medshare's record,
        # which the catalog serves once de-identified.
        "00081190": {"vr": "UR", "Value": [f"urn:medshare:record:{outcome.record_id}"]},
    }
    if outcome.duplicate:
        item["00000902"] = {"vr": "LO", "Value": ["duplicate of an accepted submission"]}
    return item
