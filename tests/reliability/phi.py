"""PHI needles taken from the source records, and a scanner that looks for them.

Needles come from the sources themselves: every person-name element of a DICOM
data set (recursively, components and whole values), patient and other IDs,
accession numbers, instance UIDs, addresses, telephone numbers, institution and
station names, birth and study dates; from case reports the name and its parts,
MRN, report id, phone, street line, city, postal code, facility, physician and
dates.

What is not a needle, and why:
- values shorter than 4 characters, or one character repeated ('M', 'F', '0',
  'ID1', '1', '----', '11111111'): they occur everywhere by chance;
- placeholders a source uses instead of PHI ('Anonymized', 'ANON', 'Lastname^Firstname')
  and DICOM attribute keywords used as fake names ('Modality^LUT^Test');
- a value that also occurs, as a whole or as a word, in an attribute Annex E keeps
  (not in Table E.1-1, not private) anywhere in the corpus: 'TOSHIBA' is an
  InstitutionName in one file and part of Manufacturer 'TOSHIBA_MEC' everywhere,
  'ABDOMEN' a BranchOfService in one file and a body part elsewhere; such a string
  legitimately stays in the output and identifies no one;
- dates, postal codes, IDs of digits only under 8 characters and short hex-looking
  IDs (logs are full of hex ids and hashes) are not unique
  across records (another record's shifted date can equal this one's original),
  so they are looked for only in that record's own outputs (its shared-zone object
  and catalog document), never in shared places like logs and topics.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.dataset import Dataset

PLACEHOLDERS = {
    "anonymized", "anonymous", "anonymised", "no info", "unknown", "none", "operator",
    "meduser", "here", "exam number", "patient", "test", "phantom", "removed", "physician",
    "doctor", "dr.", "name", "firstname", "lastname", "first", "last", "first name",
    "last name", "anon", "mid", "pre",
}  # fmt: skip
HEX = re.compile(r"[0-9a-fA-F-]+")
ID_KEYWORDS = (
    "PatientID", "OtherPatientIDs", "AccessionNumber", "IssuerOfPatientID", "StudyID",
    "RequestedProcedureID", "PerformedProcedureStepID", "ScheduledProcedureStepID",
    "MedicalRecordLocator", "PatientTelephoneNumbers", "PatientAddress", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber",
    "CountryOfResidence", "RegionOfResidence", "MilitaryRank", "BranchOfService",
)  # fmt: skip
UID_KEYWORDS = (
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
    "MediaStorageSOPInstanceUID",
)  # fmt: skip
DATE_KEYWORDS = ("PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")


@dataclass
class Needles:
    """Distinctive values (looked for everywhere) and per-record ones (only in its outputs)."""

    distinctive: set[str] = field(default_factory=set)
    per_record: set[str] = field(default_factory=set)


def annex_e_tags() -> set[int]:
    """Tags of Table E.1-1 (the attributes the profile removes, replaces or cleans)."""
    from importlib import resources

    table = json.loads(
        resources.files("medshare_anonymizer.dicom")
        .joinpath("tables/confidentiality_profile_2024.json")
        .read_text()
    )
    tags = set()
    for row in table["attributes"]:
        digits = row["tag"].strip("()").replace(",", "")
        if all(c in "0123456789ABCDEFabcdef" for c in digits):
            tags.add(int(digits, 16))
    return tags


def retained_vocabulary(datasets: Iterable[Dataset]) -> set[str]:
    """Whole values and words of every kept attribute (not in Table E.1-1, not private)."""
    profiled = annex_e_tags()
    words: set[str] = set()
    for dataset in datasets:
        for element in _walk(dataset):
            if element.tag.is_private or int(element.tag) in profiled:
                continue
            if element.VR not in {"LO", "SH", "CS", "ST", "LT", "UT", "PN"}:
                continue
            try:
                text = str(element.value).lower()
            except Exception:
                continue
            words.add(text.strip())
            words.update(word for word in re.split(r"[^a-z0-9]+", text) if len(word) >= 3)
    return words


def _dicom_keywords() -> set[str]:
    from pydicom.datadict import DicomDictionary

    return {entry[4].lower() for entry in DicomDictionary.values() if entry[4]}


DICOM_KEYWORDS = _dicom_keywords()  # 'Modality' as a name is a test file's joke, not PHI


def _usable(value: str) -> bool:
    text = value.strip()
    if len(text) < 4 or len(set(text.replace(" ", ""))) <= 1:
        return False
    return text.lower() not in PLACEHOLDERS and text.lower() not in DICOM_KEYWORDS


def _add(needles: Needles, value: str, vocabulary: set[str]) -> None:
    text = str(value).strip().strip("^").strip()
    if not _usable(text) or text.lower() in vocabulary:
        return
    if (text.replace("-", "").isdigit() and len(text) < 8) or (
        HEX.fullmatch(text) and len(text) < 12  # hex ids and hashes fill every log
    ):
        needles.per_record.add(text)
    else:
        needles.distinctive.add(text)


def _walk(dataset: Dataset) -> Iterable[Any]:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value or ():
                yield from _walk(item)
        else:
            yield element


def read_dicom(data: bytes) -> Dataset | None:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
    except Exception:  # a source we cannot parse has no needles we can name
        return None


def dicom_needles(dataset: Dataset, vocabulary: set[str]) -> Needles:
    needles = Needles()
    for element in _walk(dataset):
        try:
            value = element.value
        except Exception:
            continue
        if element.VR == "PN" and value:
            values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
            for name in values:
                _add(needles, str(name), vocabulary)
                for part in re.split(r"[\^=]", str(name)):
                    _add(needles, part, vocabulary)
        elif element.keyword in ID_KEYWORDS and value:
            values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
            for item in values:
                _add(needles, str(item), vocabulary)
        elif element.keyword in UID_KEYWORDS and value and len(str(value)) >= 20:
            needles.distinctive.add(str(value))
        elif element.keyword in DATE_KEYWORDS and value and _usable(str(value)):
            needles.per_record.add(str(value))
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("MediaStorageSOPInstanceUID") if meta is not None else None
    if uid and len(str(uid)) >= 20:
        needles.distinctive.add(str(uid))
    return needles


def case_report_needles(report: dict[str, Any]) -> Needles:
    needles = Needles()
    patient = report.get("patient") or {}
    address = patient.get("address") or {}
    name = str(patient.get("name", ""))
    physician = str(report.get("physician", "")).removeprefix("Dr. ")
    for value in (
        name, *name.split(), physician, *physician.split(), patient.get("patient_id", ""),
        report.get("report_id", ""), patient.get("phone", ""), *address.get("line", []),
        address.get("city", ""), report.get("facility", ""),
    ):  # fmt: skip
        _add(needles, str(value), set())
    for value in (
        patient.get("birth_date", ""), report.get("encounter_date", ""),
        address.get("postal_code", ""),
    ):  # fmt: skip
        if value:
            needles.per_record.add(str(value))
    return needles


@dataclass(frozen=True)
class Finding:
    where: str
    needle: str


def scan(where: str, data: bytes | str, needles: Iterable[str]) -> list[Finding]:
    """Case-insensitive, whole-token search ('MARY' is not in 'summary').

    A DICOM's bytes are searched as they are: its text values are ASCII or UTF-8.
    """
    haystack = (data if isinstance(data, bytes) else data.encode(errors="replace")).lower()
    found = []
    for needle in needles:
        token = needle.lower().encode()
        if token not in haystack:  # cheap test first; most needles are absent
            continue
        pattern = rb"(?<![a-z0-9])" + re.escape(token) + rb"(?![a-z0-9])"
        if re.search(pattern, haystack):
            found.append(Finding(where, needle))
    return found


def as_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
