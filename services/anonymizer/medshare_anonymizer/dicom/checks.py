"""Checks on a parsed source before it is de-identified, and its patient key.

The parser already rejects a file cut inside an element; these checks catch files
that parse but are incomplete (no SOP identity, pixel data shorter than the image
attributes promise, an image without pixels).
"""

from __future__ import annotations

from typing import Literal

from medshare_anonymizer.dicom.part10 import DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE
from medshare_anonymizer.dicom.view import DatasetView

# Common image storage classes (CR, DX, MG, CT, enhanced CT, MR, enhanced MR, US, US
# multi-frame, SC, NM, PET, XA): an instance of these without pixels is incomplete.
IMAGE_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in ("1", "1.1", "1.2", "2", "2.1", "4", "4.1", "6.1", "3.1", "7", "20", "128",
                   "12.1")
)  # fmt: skip
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
NATIVE_SYNTAXES = frozenset({IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE})


class Refusal(Exception):
    """The instance is not released: rejected (unusable) or quarantined (unsafe)."""

    def __init__(self, status: Literal["quarantined", "rejected"], reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def has_pixels(view: DatasetView) -> bool:
    return any(keyword in view for keyword in PIXEL_KEYWORDS)


def check_instance(view: DatasetView) -> None:
    if not view.text("SOPInstanceUID"):
        raise Refusal("rejected", "missing SOPInstanceUID")
    if not view.text("SOPClassUID"):
        raise Refusal("rejected", "missing SOPClassUID")
    if has_pixels(view):
        _check_pixel_length(view)
        return
    if "Rows" in view and "Columns" in view:
        raise Refusal("rejected", "truncated file: image attributes present, no PixelData")
    if view.text("SOPClassUID") in IMAGE_SOP_CLASSES:
        raise Refusal("rejected", "incomplete instance: image SOP class without PixelData")


def _check_pixel_length(view: DatasetView) -> None:
    element = view.by_tag.get(0x7FE00010)
    if element is None or view.part10.transfer_syntax not in NATIVE_SYNTAXES:
        return  # encapsulated (compressed) frames: their decoders check them
    try:
        rows, columns = view.integer("Rows", True), view.integer("Columns", True)
        bits_allocated = view.integer("BitsAllocated", True)
        samples = view.integer("SamplesPerPixel", True) or 1
        frames = view.integer("NumberOfFrames", True) or 1
    except ValueError:
        rows = None
    if not rows or not columns or not bits_allocated:
        raise Refusal("rejected", "image pixel attributes missing or invalid")
    if view.text("PhotometricInterpretation") == "YBR_FULL_422":
        samples = 2  # chroma subsampled: two samples per pixel on average
    expected = (rows * columns * samples * bits_allocated * frames + 7) // 8
    if element.value_end - element.value_start < expected:
        raise Refusal("rejected", "truncated PixelData (shorter than Rows x Columns x frames)")


def patient_key(view: DatasetView) -> str:
    """The value the patient pseudonym derives from (the same as the case-report path's)."""
    patient_id = view.text("PatientID")
    if patient_id:
        return patient_id
    # No ID: fall back to name + birth date, else the study, so that unrelated
    # ID-less patients do not all share one pseudonym.
    name = view.text("PatientName")
    if name:
        return f"name:{name}|{view.text('PatientBirthDate')}"
    return f"study:{view.text('StudyInstanceUID') or view.text('SOPInstanceUID')}"


# Attributes the profile removes (X, or X first of X/Z/D) that some IODs require to be
# present (Type 2 or 2C): kept empty (Z) in those instances, removed elsewhere.
_DOCUMENT_SERIES_TYPE2 = frozenset({0x00081111})  # Referenced Performed Procedure Step Seq.
_ANIMAL_TYPE2C = frozenset({0x00102297, 0x00102299})  # Responsible Person, Organization
_RT_GENERAL_PLAN_TYPE2 = frozenset({0x300A0006, 0x300A0007})  # RT Plan Date, Time


def kept_empty(view: DatasetView) -> frozenset[int]:
    """Tags to empty instead of removing: SR/KO series, RT plans, non-human patients."""
    tags: frozenset[int] = frozenset()
    modality = view.text("Modality")
    if modality in ("SR", "KO"):
        tags |= _DOCUMENT_SERIES_TYPE2
    if modality == "RTPLAN":
        tags |= _RT_GENERAL_PLAN_TYPE2
    if "PatientSpeciesDescription" in view or "PatientSpeciesCodeSequence" in view:
        tags |= _ANIMAL_TYPE2C
    return tags
