"""Searchable catalog fields, read from the de-identified output only.

Reading the output (never the source) means a field is present only when the profile
and options let it survive: e.g. sex and age band need retain-patient-characteristics.
"""

from __future__ import annotations

from typing import Any

from medshare_anonymizer.dicom.values import age_band
from medshare_anonymizer.dicom.view import DatasetView


def searchable_metadata(view: DatasetView) -> dict[str, Any]:
    def text(keyword: str) -> str | None:
        return view.text(keyword) or None

    study_date = text("StudyDate")
    age = text("PatientAge")
    return {
        "modality": text("Modality"),
        "body_part": text("BodyPartExamined"),
        "study_year": int(study_date[:4]) if study_date and study_date[:4].isdigit() else None,
        "sex": text("PatientSex"),
        "age_band": age_band(age) if age else None,
        "manufacturer": text("Manufacturer"),
        "model": text("ManufacturerModelName"),
        "study_instance_uid": text("StudyInstanceUID"),
        "series_instance_uid": text("SeriesInstanceUID"),
        "sop_instance_uid": text("SOPInstanceUID"),
        "sop_class_uid": text("SOPClassUID"),
        "rows": view.integer("Rows"),
        "columns": view.integer("Columns"),
        "transfer_syntax": view.part10.transfer_syntax,
        "study_description": text("StudyDescription"),
        "burned_in_annotation": text("BurnedInAnnotation"),
        "number_of_frames": view.integer("NumberOfFrames") or 1,
    }
