"""DICOM de-identification by PS3.15 Annex E (2024) with its options, verified.

``deidentify_dicom`` parses Part-10 bytes, applies the cached action table in one
pass, cleans pixels when asked and possible, records the method in the dataset,
verifies that no identifying source value survives and returns the new file bytes.
Reasons and findings name attributes, never values.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filewriter import dcmwrite
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from medshare_anonymizer.dicom_metadata import searchable_metadata
from medshare_anonymizer.dicom_options import BASIC_PROFILE_CODE, OPTIONS
from medshare_anonymizer.dicom_pixels import PixelCleaningError, blank_regions
from medshare_anonymizer.dicom_profile import action_table
from medshare_anonymizer.dicom_verifier import collect_needles, find_leaks
from medshare_anonymizer.dicom_walk import DatasetWalker
from medshare_anonymizer.pixel_rules import (
    ENCAPSULATED_DOCUMENT_SOP_CLASSES,
    Box,
    burned_in_suspicion,
    cleaning_regions,
    visual_features_suspicion,
)
from medshare_anonymizer.pseudonyms import PseudonymKeys

Status = Literal["ok", "quarantined", "rejected"]
# Common image storage classes (CR, DX, MG, CT, enhanced CT, MR, enhanced MR, US, US
# multi-frame, SC, NM, PET, XA): an instance of these without pixels is incomplete.
IMAGE_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in ("1", "1.1", "1.2", "2", "2.1", "4", "4.1", "6.1", "3.1", "7", "20", "128",
                   "12.1")
)  # fmt: skip
METHOD_NAME = "medshare DICOM PS3.15 Annex E 2024"
# File meta attributes that name the sending system or carry private payloads.
_META_TAGS_REMOVED = (0x00020016, 0x00020017, 0x00020018, 0x00020026, 0x00020027, 0x00020028,
                      0x00020100, 0x00020102)  # fmt: skip


@dataclass
class DicomDeidResult:
    status: Status
    reason: str | None
    output: bytes | None
    patient_pseudonym: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


class _Refusal(Exception):
    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _parse(data: bytes) -> Dataset:
    if len(data) < 132 or data[128:132] != b"DICM":
        raise _Refusal("rejected", "not a DICOM Part-10 file (no 'DICM' marker after preamble)")
    try:
        ds = dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise _Refusal("rejected", "not a valid DICOM Part-10 file") from None
    except Exception as exc:  # truncated or corrupt: the parser's message may quote values
        raise _Refusal("rejected", f"unreadable DICOM ({type(exc).__name__})") from None
    if "TransferSyntaxUID" not in ds.file_meta:
        raise _Refusal("rejected", "file meta has no TransferSyntaxUID")
    if not str(ds.get("SOPInstanceUID", "")).strip():
        raise _Refusal("rejected", "missing SOPInstanceUID")
    if not str(ds.get("SOPClassUID", "")).strip():
        raise _Refusal("rejected", "missing SOPClassUID")
    _check_complete(ds)
    return ds


def _check_complete(ds: Dataset) -> None:
    """The parser accepts a file cut short; these checks catch what it lets through."""
    last = ds.get_item(list(ds.keys())[-1]) if len(ds) else None
    if (
        isinstance(last, RawDataElement)
        and last.length != 0xFFFFFFFF
        and len(last.value or b"") < last.length
    ):
        raise _Refusal("rejected", "truncated file: last element shorter than its length")
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        _check_pixel_length(ds)
        return
    if "Rows" in ds and "Columns" in ds:
        raise _Refusal("rejected", "truncated file: image attributes present, no PixelData")
    if str(ds.SOPClassUID) in IMAGE_SOP_CLASSES:
        raise _Refusal("rejected", "incomplete instance: image SOP class without PixelData")


def _check_pixel_length(ds: Dataset) -> None:
    raw = ds.get_item(0x7FE00010)
    if raw is None:
        return
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return
    try:
        samples = int(ds.get("SamplesPerPixel", 1))
        if ds.get("PhotometricInterpretation") == "YBR_FULL_422":
            samples = 2  # chroma subsampled: two samples per pixel on average
        bits = int(ds.Rows) * int(ds.Columns) * samples * int(ds.BitsAllocated)
        expected = (bits * int(ds.get("NumberOfFrames", 1) or 1) + 7) // 8
    except (AttributeError, TypeError, ValueError):
        raise _Refusal("rejected", "image pixel attributes missing or invalid") from None
    if len(raw.value or b"") < expected:
        raise _Refusal("rejected", "truncated PixelData (shorter than Rows x Columns x frames)")


def _patient_key(ds: Dataset) -> str:
    patient_id = str(ds.get("PatientID", "") or "").strip()
    if patient_id:
        return patient_id
    # No ID: fall back to name + birth date, else the study, so that unrelated
    # ID-less patients do not all share one pseudonym.
    name = str(ds.get("PatientName", "") or "").strip()
    if name:
        return f"name:{name}|{ds.get('PatientBirthDate', '')}"
    return f"study:{ds.get('StudyInstanceUID', ds.SOPInstanceUID)}"


def _pixel_plan(ds: Dataset, options: frozenset[str]) -> tuple[str, tuple[Box, ...]] | None:
    """Regions to blank, or None; raises _Refusal for instances that cannot be made safe."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in ENCAPSULATED_DOCUMENT_SOP_CLASSES:
        raise _Refusal("quarantined", "encapsulated document content cannot be verified")
    has_pixels = "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
    if not has_pixels:
        return None
    if "clean-recognizable-visual-features" in options:
        features = visual_features_suspicion(ds)
        if features:
            raise _Refusal(
                "quarantined",
                f"recognizable visual features suspected ({features}); defacing not implemented",
            )
    suspicion = burned_in_suspicion(ds)
    if suspicion is None:
        return None
    if "clean-pixel-data" not in options:
        raise _Refusal(
            "quarantined",
            f"burned-in annotation suspected ({suspicion}) and clean-pixel-data not enabled",
        )
    plan = cleaning_regions(ds)
    if plan is None:
        raise _Refusal(
            "quarantined",
            f"burned-in annotation suspected ({suspicion}) and no pixel-cleaning rule matches "
            "(Manufacturer, ManufacturerModelName, Rows x Columns)",
        )
    return plan


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def _record_method(ds: Dataset, options: frozenset[str], pixels_cleaned: bool) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = [METHOD_NAME, *sorted(options)]
    codes = [_code_item(*BASIC_PROFILE_CODE)]
    codes += [_code_item(o.code, o.meaning) for o in sorted(OPTIONS.values(), key=lambda o: o.code)
              if o.name in options]  # fmt: skip
    ds.DeidentificationMethodCodeSequence = codes
    if "retain-long-modified-dates" in options:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    elif "retain-long-full-dates" in options:
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    if pixels_cleaned:
        ds.BurnedInAnnotation = "NO"
    if "clean-recognizable-visual-features" in options and "PixelData" in ds:
        ds.RecognizableVisualFeatures = "NO"


def _rewrite_file_meta(ds: Dataset) -> None:
    meta: FileMetaDataset = ds.file_meta
    for tag in _META_TAGS_REMOVED:
        if tag in meta:
            del meta[tag]
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "MEDSHARE_DEID"
    ds.preamble = b"\x00" * 128  # the preamble is free-form and may carry anything


def _serialize(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def deidentify_dicom(
    data: bytes,
    keys: PseudonymKeys,
    institution: str,
    options: frozenset[str] = frozenset(),
) -> DicomDeidResult:
    """De-identifies one DICOM Part-10 instance; never raises for bad input."""
    table = action_table(options)  # ValueError for unknown options is a caller error
    chosen = sorted(table.options)
    try:
        ds = _parse(data)
        plan = _pixel_plan(ds, table.options)
    except _Refusal as refusal:
        return DicomDeidResult(refusal.status, refusal.reason, None, None, options=chosen)
    pseudonym = keys.patient_pseudonym(institution, _patient_key(ds))
    try:
        needles = collect_needles(ds, table)
        shift = None
        if "retain-long-modified-dates" in table.options:
            shift = keys.date_shift_days(pseudonym)
        walker = DatasetWalker(table, keys, institution, pseudonym, shift, needles)
        walker.walk(ds)
        if plan is not None:
            blank_regions(ds, plan[1])
            walker.counts["pixels"] += 1
        _record_method(ds, table.options, plan is not None)
        _rewrite_file_meta(ds)
        findings = find_leaks(ds, needles)
        metadata = searchable_metadata(ds)
        actions = dict(walker.counts)
        if findings:
            reason = "verifier found source identifiers in: " + ", ".join(findings[:10])
            return DicomDeidResult("quarantined", reason, None, pseudonym, metadata, actions,
                                   chosen, findings)  # fmt: skip
        output = _serialize(ds)
    except PixelCleaningError as exc:
        return DicomDeidResult("quarantined", str(exc), None, pseudonym, options=chosen)
    except Exception as exc:  # malformed values surface lazily, on conversion or writing
        reason = f"unprocessable DICOM content ({type(exc).__name__})"
        return DicomDeidResult("rejected", reason, None, None, options=chosen)
    return DicomDeidResult("ok", None, output, pseudonym, metadata, actions, chosen, [])
