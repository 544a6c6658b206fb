"""DICOMweb STOW-RS (PS3.18 10.5): multipart/related bodies in, the standard response out.

The response is DICOM JSON: ReferencedSOPSequence for stored instances and
FailedSOPSequence with a FailureReason for refused ones. HTTP status: 200 when
all were stored, 202 when some failed, 409 when none was stored.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Literal

import pydicom

from medshare_ingest.limits import RefusalKind

# PS3.4 / PS3.18 failure reasons.
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_DATA_SET_MISMATCH = 0xA900  # e.g. a StudyInstanceUID that differs from the URL's
FAILURE_PROCESSING = 0x0110
FAILURE_OUT_OF_RESOURCES = 0xA700
FAILURE_SOP_CLASS_NOT_SUPPORTED = 0x0122
FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122


class MultipartError(ValueError):
    """The body is not a well-formed multipart/related message.

    `unsupported`: the media type (or the parts' type) is not one STOW-RS takes (415);
    `malformed`: the body does not follow the declared framing (400).
    """

    def __init__(self, message: str, kind: Literal["unsupported", "malformed"]) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def http_status(self) -> int:
        return 415 if self.kind == "unsupported" else 400


_PARAM = re.compile(r';\s*([A-Za-z0-9_-]+)\s*=\s*("([^"]*)"|[^;]*)')


def content_type_params(header: str) -> tuple[str, dict[str, str]]:
    media_type = header.split(";", 1)[0].strip().lower()
    params = {
        match.group(1).lower(): (
            match.group(3) if match.group(3) is not None else match.group(2)
        ).strip()
        for match in _PARAM.finditer(header)
    }
    return media_type, params


def multipart_boundary(content_type: str) -> str:
    """The boundary of a STOW-RS request, or `MultipartError` for any other media type."""
    media_type, params = content_type_params(content_type)
    if media_type != "multipart/related":
        raise MultipartError(
            'expected Content-Type multipart/related; type="application/dicom"', "unsupported"
        )
    part_type = params.get("type", "application/dicom").lower()
    if part_type != "application/dicom":
        raise MultipartError(
            f'unsupported multipart type "{part_type[:64]}" (need application/dicom)',
            "unsupported",
        )
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart/related without a boundary parameter", "malformed")
    return boundary


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related body as (headers, payload) pairs."""
    delimiter = b"--" + multipart_boundary(content_type).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MultipartError("no parts found for the given boundary", "malformed")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("a part has no header/body separator", "malformed")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, payload.removesuffix(b"\r\n")))
    return parts


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


def identify(data: bytes) -> tuple[str, str, str]:
    """(SOPClassUID, SOPInstanceUID, StudyInstanceUID) or empty strings when unreadable."""
    try:
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
