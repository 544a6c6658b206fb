"""The DICOM attributes QIDO-RS answers with, read once from the shared-zone copy.

The de-identified object is read at fold time, so study, series and instance
queries run on the catalog document alone. The pixel data is only hashed: two
copies of one SOP Instance whose pixels differ are a conflict (instances.py),
while copies that differ only in how a door wrote the header are the same image. Only the
de-identified copy is ever read: what it says is what the anonymizer let through.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from medshare_catalog.store.record import Document

STUDY_KEYWORDS = (
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "StudyDescription",
)
SERIES_KEYWORDS = (
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "BodyPartExamined",
    "SeriesDate",
)
INSTANCE_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
)
ALL_KEYWORDS = STUDY_KEYWORDS + SERIES_KEYWORDS + INSTANCE_KEYWORDS
# Simple fields the QIDO filters match on, by keyword.
QUERY_FIELDS = {
    "StudyInstanceUID": "study_uid",
    "SeriesInstanceUID": "series_uid",
    "SOPInstanceUID": "sop_uid",
    "SOPClassUID": "sop_class_uid",
    "StudyDate": "study_date",
    "StudyTime": "study_time",
    "AccessionNumber": "accession_number",
    "PatientID": "patient_id",
    "PatientName": "patient_name",
    "StudyID": "study_id",
    "StudyDescription": "study_description",
    "ReferringPhysicianName": "referring_physician_name",
    "Modality": "modality",
    "SeriesNumber": "series_number",
    "SeriesDescription": "series_description",
    "BodyPartExamined": "body_part",
    "InstanceNumber": "instance_number",
}


def _simple(dataset: Dataset, keyword: str) -> Any:
    value = dataset.get(keyword)
    if value is None or value == "":
        return None
    if keyword in {"SeriesNumber", "InstanceNumber"}:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    return str(value).strip() or None


def header_from_dataset(dataset: Dataset, transfer_syntax: str | None) -> Document:
    """DICOM JSON of the QIDO attributes plus flat fields to filter on."""
    subset = Dataset()
    for keyword in ALL_KEYWORDS:
        if keyword in dataset:
            subset[keyword] = dataset[keyword]
    attributes = subset.to_json_dict(bulk_data_threshold=1 << 20, bulk_data_element_handler=None)
    header: Document = {"attributes": attributes, "transfer_syntax": transfer_syntax}
    for keyword, field in QUERY_FIELDS.items():
        header[field] = _simple(dataset, keyword)
    return header


PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def pixel_sha256(dataset: Dataset) -> str | None:
    """SHA-256 of the stored pixel bytes (None for objects without pixels)."""
    for keyword in PIXEL_KEYWORDS:
        value = dataset.get(keyword)
        if value is not None:
            return hashlib.sha256(bytes(value)).hexdigest()
    return None


def read_header(data: bytes) -> Document:
    """Parse a Part 10 file into the catalog's `dicom` field (pixel data hashed, not kept)."""
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    meta = getattr(dataset, "file_meta", None)
    syntax = (
        str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None
    )
    header = header_from_dataset(dataset, syntax)
    header["pixel_sha256"] = pixel_sha256(dataset)
    return header
