"""Searchable catalog fields, read from the de-identified dataset only.

Reading the output (never the source) means a field is present only when the profile
and options let it survive: e.g. sex and age band need retain-patient-characteristics.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

from medshare_anonymizer.dicom_values import age_band


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    text = str(value).strip() if value is not None else ""
    return text or None


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def searchable_metadata(ds: Dataset) -> dict[str, Any]:
    study_date = _text(ds, "StudyDate")
    age = _text(ds, "PatientAge")
    burned_in = _text(ds, "BurnedInAnnotation")
    return {
        "modality": _text(ds, "Modality"),
        "body_part": _text(ds, "BodyPartExamined"),
        "study_year": int(study_date[:4]) if study_date and study_date[:4].isdigit() else None,
        "sex": _text(ds, "PatientSex"),
        "age_band": age_band(age) if age else None,
        "manufacturer": _text(ds, "Manufacturer"),
        "model": _text(ds, "ManufacturerModelName"),
        "study_instance_uid": _text(ds, "StudyInstanceUID"),
        "series_instance_uid": _text(ds, "SeriesInstanceUID"),
        "sop_instance_uid": _text(ds, "SOPInstanceUID"),
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "rows": _int(ds, "Rows"),
        "columns": _int(ds, "Columns"),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "study_description": _text(ds, "StudyDescription"),
        "burned_in_annotation": burned_in,
        "number_of_frames": _int(ds, "NumberOfFrames") or 1,
    }
