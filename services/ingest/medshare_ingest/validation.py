"""Is this really a DICOM instance or a case report? Refuse clearly when not.

Reasons name the problem (and a tag or field path), never a value from the record.
The DICOM checks go further than parsing, because pydicom reads a file cut short
without complaint: the last element's declared length, every element's value
against its VR, and the pixel data's length against the image size.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, get_args

import pydicom
import pydicom.config
from pydantic import BaseModel, ValidationError
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import DeflatedExplicitVRLittleEndian

from medshare_ingest.limits import IngestLimits, InvalidSubmission
from medshare_shared.case_report import CaseReport
from medshare_shared.dicom_bounds import DicomBoundsError, check_dicom_bounds
from medshare_shared.fhir import FhirValidationError, bundle_to_case_report
from medshare_shared.json_bounds import JsonTooDeep, loads_bounded

FHIR_JSON = "application/fhir+json"
UNDEFINED_LENGTH = 0xFFFFFFFF
# Case reports and FHIR Bundles nest a few levels; this leaves room and stops the parser
# (and validation after it) long before recursion limits.
JSON_MAX_DEPTH = 64
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # PixelData, Float-, DoubleFloatPixelData
# Image storage classes that always carry pixel data (CR, DX, MG, IO, CT, enhanced CT,
# MR, enhanced MR, US, US multi-frame, SC and multi-frame SC, XA, RF, NM, PET, VL,
# segmentation, breast tomosynthesis): an instance of these without pixels is incomplete.
IMAGE_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in ("1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1", "2", "2.1", "4",
                   "4.1", "6.1", "3.1", "7", "7.1", "7.2", "7.3", "7.4", "12.1", "12.2",
                   "20", "128", "77.1.1", "77.1.2", "77.1.4", "66.4", "13.1.3")
)  # fmt: skip

__all__ = [
    "DicomFacts",
    "InvalidSubmission",
    "quiet_dicom_libraries",
    "validate_case_report",
    "validate_dicom",
]


@dataclass(frozen=True)
class DicomFacts:
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    transfer_syntax_uid: str


# pydicom reports some structural damage (a sequence cut short, an unknown VR) only as
# a log line and reads on; this collects those lines while one file is validated.
_STRUCTURAL = {
    "End of file reached before delimiter": "truncated DICOM: a sequence ends before its delimiter",
    "Unknown Value Representation": "malformed DICOM: unknown value representation",
    "Expected 4 zero bytes after undefined length": "malformed DICOM: bad sequence delimiter",
}
_problems: ContextVar[list[str] | None] = ContextVar("dicom_structural_problems", default=None)


class _PydicomLogFilter(logging.Filter):
    """Records structural problems for the validator and drops every pydicom log line:
    pydicom's messages can quote element values (PHI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        problems = _problems.get()
        if problems is not None:
            message = record.getMessage()
            problems.extend(
                reason for prefix, reason in _STRUCTURAL.items() if message.startswith(prefix)
            )
        return False


def _install_pydicom_filter() -> None:
    pydicom_logger = logging.getLogger("pydicom")
    if not any(isinstance(item, _PydicomLogFilter) for item in pydicom_logger.filters):
        pydicom_logger.addFilter(_PydicomLogFilter())
    pydicom_logger.setLevel(logging.WARNING)


_install_pydicom_filter()


def quiet_dicom_libraries() -> None:
    """pydicom's value warnings and pynetdicom's INFO lines can quote identifiers: mute them."""
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")
    _install_pydicom_filter()
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)


def validate_dicom(data: bytes, limits: IngestLimits | None = None) -> DicomFacts:
    """The instance's identifying UIDs, or `InvalidSubmission` saying what is wrong."""
    limits = limits or IngestLimits()
    limits.check_object_size(len(data))
    if len(data) < 132 or data[128:132] != b"DICM":
        raise InvalidSubmission("not a DICOM Part 10 file: missing 128-byte preamble and 'DICM'")
    try:
        check_dicom_bounds(data, limits.dicom)  # before pydicom: bounded memory and depth
    except DicomBoundsError as error:
        raise InvalidSubmission(str(error), error.kind) from None
    problems: list[str] = []
    token = _problems.set(problems)
    try:
        return _checked(data, limits, problems)
    except InvalidSubmission:
        raise
    except Exception as error:  # a corrupt file can break pydicom in ways not listed here
        raise InvalidSubmission(f"malformed DICOM data set ({type(error).__name__})") from None
    finally:
        _problems.reset(token)


def _checked(data: bytes, limits: IngestLimits, problems: list[str]) -> DicomFacts:
    dataset = _parse(data)
    if problems:
        raise InvalidSubmission(problems[0])
    transfer_syntax = str(dataset.file_meta.get("TransferSyntaxUID", "") or "")
    if not transfer_syntax:
        raise InvalidSubmission("file meta has no Transfer Syntax UID (0002,0010)")
    limits.check_transfer_syntax(transfer_syntax)
    last = _last_raw_element(dataset)
    # Decoding first: a bad length shows at its own element, before the garbage it causes.
    _decode_every_element(dataset)
    if problems:
        raise InvalidSubmission(problems[0])
    _check_last_element(last, dataset, len(data))
    sop_instance = str(dataset.get("SOPInstanceUID", "") or "").strip()
    sop_class = str(dataset.get("SOPClassUID", "") or "").strip()
    if not sop_instance:
        raise InvalidSubmission("DICOM instance has no SOP Instance UID (0008,0018)")
    if not sop_class:
        raise InvalidSubmission("DICOM instance has no SOP Class UID (0008,0016)")
    limits.check_sop_class(sop_class)
    _check_pixels(dataset, sop_class)
    study = str(dataset.get("StudyInstanceUID", "") or "").strip()
    return DicomFacts(sop_class, sop_instance, study, transfer_syntax)


def _parse(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise InvalidSubmission("invalid DICOM file meta information") from None
    except Exception as error:  # pydicom raises many types on corrupt element data
        raise InvalidSubmission(f"malformed DICOM data set ({type(error).__name__})") from None


def _last_raw_element(dataset: Dataset) -> RawDataElement | None:
    """The last top-level element as read, before decoding (None for an eager sequence)."""
    if not len(dataset):
        raise InvalidSubmission("DICOM data set is empty")
    last = dataset.get_item(list(dataset.keys())[-1])
    return last if isinstance(last, RawDataElement) else None


def _check_last_element(last: RawDataElement | None, dataset: Dataset, size: int) -> None:
    """pydicom reads a file cut short without complaint; the last element shows it.

    Either its value is shorter than its declared length, or the parser stopped on a
    partial element header and left bytes over after it.
    """
    if last is None:
        return  # a sequence, parsed eagerly: damage inside it was reported while reading
    value = last.value or b""
    if last.length != UNDEFINED_LENGTH and len(value) < last.length:
        raise InvalidSubmission(f"truncated DICOM: element {last.tag} is shorter than its length")
    if dataset.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian:
        return  # offsets count inflated bytes
    delimiter = 8 if last.length == UNDEFINED_LENGTH else 0
    end = last.value_tell + len(value) + delimiter
    if end > size:
        raise InvalidSubmission(f"truncated DICOM: element {last.tag} has no delimiter")
    if end < size:
        raise InvalidSubmission(
            "malformed DICOM: bytes left after the last element (a cut element header?)"
        )


def _decode_every_element(dataset: Dataset) -> None:
    """Decode each value so a length that does not fit its VR is found here, not downstream."""
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
        except Exception as error:
            raise InvalidSubmission(
                f"element {tag} cannot be decoded: its length or value does not fit its VR "
                f"({type(error).__name__})"
            ) from None
        if element.VR == "SQ":
            for item in element.value or []:
                _decode_every_element(item)


def _check_pixels(dataset: Dataset, sop_class: str) -> None:
    pixels = next((dataset[tag] for tag in PIXEL_TAGS if tag in dataset), None)
    if pixels is None:
        if "Rows" in dataset and "Columns" in dataset:
            raise InvalidSubmission("truncated DICOM: image attributes present, no pixel data")
        if sop_class in IMAGE_SOP_CLASSES:
            raise InvalidSubmission("incomplete instance: image SOP class without pixel data")
        return
    if dataset.file_meta.TransferSyntaxUID.is_compressed or pixels.tag != 0x7FE00010:
        return
    try:
        samples = int(dataset.get("SamplesPerPixel", 1) or 1)
        if dataset.get("PhotometricInterpretation") == "YBR_FULL_422":
            samples = 2  # chroma subsampled: two samples per pixel on average
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
        bits = int(dataset.Rows) * int(dataset.Columns) * samples * int(dataset.BitsAllocated)
    except (AttributeError, TypeError, ValueError):
        raise InvalidSubmission("image pixel attributes (0028,xxxx) missing or invalid") from None
    if len(pixels.value or b"") < (bits * frames + 7) // 8:
        raise InvalidSubmission("truncated DICOM: pixel data shorter than rows x columns x frames")


def model_field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name (and alias) of a model and the models inside it."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [model]
    seen: set[type[BaseModel]] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, field in current.model_fields.items():
            names.add(name)
            if field.alias:
                names.add(field.alias)
            pending += _models_in(field.annotation)
    return frozenset(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def field_path(location: tuple[int | str, ...], known: frozenset[str]) -> str:
    """A field path for a message: schema field names and indexes only. Anything else in
    the location (an unexpected key, a dict key) came from the record, so it is masked."""
    parts = [str(part) if isinstance(part, int) or part in known else "*" for part in location]
    return ".".join(parts) or "(root)"


def problems_text(error: ValidationError, known: frozenset[str]) -> str:
    return "; ".join(
        f"{field_path(issue['loc'], known)}: {issue['msg']}" for issue in error.errors()
    )


def parse_json(data: bytes) -> Any:
    """JSON with bounded nesting (size is bounded by the object limit before this)."""
    try:
        return loads_bounded(data, JSON_MAX_DEPTH)
    except JsonTooDeep as error:
        raise InvalidSubmission(f"invalid JSON: {error}") from None
    except RecursionError:
        raise InvalidSubmission("invalid JSON: nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidSubmission(
            f"invalid JSON: {type(error).__name__} at {_position(error)}"
        ) from None


FHIR_MEDIA_TYPES = frozenset({FHIR_JSON, "application/json+fhir"})
CASE_REPORT_FIELDS = model_field_names(CaseReport)


def validate_case_report(data: bytes, limits: IngestLimits | None = None) -> CaseReport:
    """A case report in the project's JSON schema; field paths name every problem."""
    (limits or IngestLimits()).check_object_size(len(data))
    return _case_report(parse_json(data))


def validate_fhir_bundle(data: bytes, limits: IngestLimits | None = None) -> CaseReport:
    """A FHIR R4 Bundle mapped onto the case-report schema; problems name FHIR paths."""
    (limits or IngestLimits()).check_object_size(len(data))
    return _fhir_bundle(parse_json(data))


def check_case_report(data: bytes, media_type: str, limits: IngestLimits | None = None) -> str:
    """Validate a case report or FHIR Bundle; returns the content type to store it under.

    A Bundle sent as plain application/json is recognised by its resourceType.
    """
    (limits or IngestLimits()).check_object_size(len(data))
    document = parse_json(data)
    if media_type in FHIR_MEDIA_TYPES or (
        isinstance(document, dict) and document.get("resourceType") == "Bundle"
    ):
        _fhir_bundle(document)
        return FHIR_JSON
    _case_report(document)
    return "application/json"


def _case_report(document: Any) -> CaseReport:
    try:
        return CaseReport.model_validate(document)
    except ValidationError as error:
        raise InvalidSubmission(
            "invalid case report: " + problems_text(error, CASE_REPORT_FIELDS)
        ) from None


def _fhir_bundle(document: Any) -> CaseReport:
    try:
        return bundle_to_case_report(document)
    except FhirValidationError as error:
        raise InvalidSubmission(f"invalid FHIR Bundle: {error}") from None
    except ValidationError as error:  # the mapped report broke a case-report rule
        raise InvalidSubmission(
            "invalid FHIR Bundle: " + problems_text(error, CASE_REPORT_FIELDS)
        ) from None


def _position(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno} column {error.colno}"
    return "byte level"
