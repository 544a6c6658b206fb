"""What ingest accepts: sizes, counts, SOP classes, transfer syntaxes, and refusals.

Every door (HTTP, STOW-RS, C-STORE, Kafka) checks the same limits and raises the
same `InvalidSubmission`; each door then answers in its own protocol. The `kind`
of a refusal picks the answer: `too_large` -> HTTP 413, `unsupported*` -> 415,
`invalid` -> 422 (and the matching STOW-RS failure reason or C-STORE status).
Messages name the problem and the setting, never a value from the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from medshare_shared.dicom_bounds import DicomBounds

RefusalKind = Literal[
    "too_large", "unsupported", "unsupported_sop_class", "unsupported_transfer_syntax", "invalid"
]
HTTP_STATUS: dict[RefusalKind, int] = {
    "too_large": 413,
    "unsupported": 415,
    "unsupported_sop_class": 415,
    "unsupported_transfer_syntax": 415,
    "invalid": 422,
}

# The transfer syntaxes PACS and modalities commonly send.
DEFAULT_TRANSFER_SYNTAXES: tuple[str, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)


class InvalidSubmission(ValueError):
    """The submitted bytes are not acceptable; the message says why (no PHI)."""

    def __init__(self, message: str, kind: RefusalKind = "invalid") -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.kind]


_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def printable_uid(value: str) -> str:
    """A UID fit for a message: standard class/syntax UIDs, never free text from a file."""
    return value if len(value) <= 64 and _UID.match(value) else "(not a valid UID)"


@cache
def storage_sop_classes() -> frozenset[str]:
    """Every storage SOP class pynetdicom knows (the default accepted set)."""
    from pynetdicom import AllStoragePresentationContexts

    return frozenset(
        str(context.abstract_syntax)
        for context in AllStoragePresentationContexts
        if context.abstract_syntax is not None
    )


@dataclass(frozen=True)
class IngestLimits:
    max_object_bytes: int = 64 * 1024 * 1024
    max_request_bytes: int = 256 * 1024 * 1024
    max_instances_per_request: int = 1000
    # None: all storage SOP classes.
    sop_classes: frozenset[str] | None = None
    transfer_syntaxes: frozenset[str] = frozenset(DEFAULT_TRANSFER_SYNTAXES)
    # Inflation and nesting a DICOM file may need before any parser sees it.
    dicom: DicomBounds = field(default_factory=DicomBounds)

    @property
    def accepted_sop_classes(self) -> frozenset[str]:
        return self.sop_classes if self.sop_classes is not None else storage_sop_classes()

    def check_object_size(self, size: int) -> None:
        if size > self.max_object_bytes:
            raise InvalidSubmission(
                f"object larger than {self.max_object_bytes} bytes (MEDSHARE_MAX_OBJECT_BYTES)",
                "too_large",
            )

    def check_sop_class(self, sop_class_uid: str) -> None:
        if sop_class_uid not in self.accepted_sop_classes:
            raise InvalidSubmission(
                f"SOP class {printable_uid(sop_class_uid)} is not accepted "
                "(MEDSHARE_ACCEPTED_SOP_CLASSES)",
                "unsupported_sop_class",
            )

    def check_transfer_syntax(self, transfer_syntax_uid: str) -> None:
        if transfer_syntax_uid not in self.transfer_syntaxes:
            raise InvalidSubmission(
                f"transfer syntax {printable_uid(transfer_syntax_uid)} is not accepted "
                "(MEDSHARE_ACCEPTED_TRANSFER_SYNTAXES)",
                "unsupported_transfer_syntax",
            )
