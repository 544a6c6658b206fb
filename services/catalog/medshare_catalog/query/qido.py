"""QIDO-RS query keys (PS3.18 8.3.4 / PS3.4 C.2.2.2) as MongoDB conditions on `dicom.*`.

Supported matching: single value, list of UIDs ("a,b" or "a\\b"), wildcards (`*`,
`?`) for text, ranges for dates and times ("20200101-20201231", "-2020", "2020-"),
and integers. Keys may be keywords (StudyDate) or tags (00080020). Keys the
catalog does not hold are reported back as ignored (HTTP Warning 299).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from medshare_catalog.store.dicom_header import QUERY_FIELDS
from medshare_catalog.store.record import Document

Level = Literal["study", "series", "instance"]
UID_KEYS = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"}
RANGE_KEYS = {"StudyDate", "StudyTime"}
INTEGER_KEYS = {"SeriesNumber", "InstanceNumber"}
CASE_INSENSITIVE = {"PatientName", "ReferringPhysicianName"}
STUDY_KEYS = {
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "PatientName",
    "PatientID",
    "StudyID",
    "StudyDescription",
    "ReferringPhysicianName",
    "ModalitiesInStudy",
}
SERIES_KEYS = {
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "BodyPartExamined",
}
INSTANCE_KEYS = {"SOPClassUID", "SOPInstanceUID", "InstanceNumber"}
KEYS_BY_LEVEL: dict[Level, set[str]] = {
    "study": STUDY_KEYS,
    "series": STUDY_KEYS | SERIES_KEYS,
    "instance": STUDY_KEYS | SERIES_KEYS | INSTANCE_KEYS,
}
CONTROL_PARAMETERS = {"limit", "offset", "includefield", "fuzzymatching"}


class QidoError(ValueError):
    """A query parameter that is not a valid QIDO-RS key or value; the message names it."""


def keyword_of(attribute: str) -> str:
    """A keyword from a keyword or an 8-digit hex tag; QidoError if neither."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", attribute):
        keyword = keyword_for_tag(int(attribute, 16))
        if keyword:
            return keyword
        raise QidoError(f"{attribute} is not a known DICOM tag")
    if tag_for_keyword(attribute) is None:
        raise QidoError(f"{attribute} is not a DICOM keyword")
    return attribute


def _uids(value: str) -> list[str]:
    return [uid.strip() for uid in re.split(r"[,\\]", value) if uid.strip()]


def _range(value: str) -> Document | str:
    if "-" not in value:
        return value
    low, _, high = value.partition("-")
    bounds: Document = {}
    if low:
        bounds["$gte"] = low
    if high:
        # "20201231" as an upper bound must include times within that day.
        bounds["$lte"] = high + "\uffff"
    if not bounds:
        raise QidoError("a range needs at least one bound")
    return bounds


MAX_MATCH_LENGTH = 64
MAX_WILDCARDS = 4


def _wildcard(value: str, case_insensitive: bool) -> Document | str:
    if "*" not in value and "?" not in value and not case_insensitive:
        return value
    # The pattern is built from escaped characters only; bounded so it cannot backtrack long.
    value = re.sub(r"\*+", "*", value)
    if len(value) > MAX_MATCH_LENGTH or value.count("*") > MAX_WILDCARDS:
        raise QidoError(
            f"a matching value may have at most {MAX_MATCH_LENGTH} characters "
            f"and {MAX_WILDCARDS} '*' wildcards"
        )
    pattern = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in value
    )
    condition: Document = {"$regex": f"^{pattern}$"}
    if case_insensitive:
        condition["$options"] = "i"
    return condition


def condition_for(keyword: str, value: str) -> Document:
    if keyword == "ModalitiesInStudy":
        return {"dicom.modality": {"$in": [v.upper() for v in _uids(value)]}}
    path = f"dicom.{QUERY_FIELDS[keyword]}"
    if keyword in UID_KEYS:
        uids = _uids(value)
        return {path: uids[0] if len(uids) == 1 else {"$in": uids}}
    if keyword in RANGE_KEYS:
        return {path: _range(value)}
    if keyword in INTEGER_KEYS:
        try:
            return {path: int(value)}
        except ValueError:
            raise QidoError(f"{keyword} must be an integer") from None
    return {path: _wildcard(value, keyword in CASE_INSENSITIVE)}


@dataclass
class QidoQuery:
    conditions: list[Document] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    include_all: bool = False

    def filter(self) -> Document:
        if not self.conditions:
            return {}
        return self.conditions[0] if len(self.conditions) == 1 else {"$and": self.conditions}


def parse(params: list[tuple[str, str]], level: Level, max_limit: int = 1000) -> QidoQuery:
    query = QidoQuery()
    allowed = KEYS_BY_LEVEL[level]
    for name, value in params:
        if name in CONTROL_PARAMETERS:
            if name in {"limit", "offset"}:
                if not value.isdigit():
                    raise QidoError(f"{name} must be a non-negative integer")
                setattr(query, name, int(value))
            elif name == "includefield":
                query.include_all = query.include_all or "all" in value.split(",")
            continue
        keyword = keyword_of(name.split(".")[0])
        if keyword not in allowed or (
            keyword != "ModalitiesInStudy" and keyword not in QUERY_FIELDS
        ):
            query.ignored.append(keyword)
            continue
        if value == "":
            continue  # an empty key asks for the attribute back; it does not filter
        query.conditions.append(condition_for(keyword, value))
    query.limit = min(query.limit or max_limit, max_limit)
    return query


def tag_of(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return f"{tag:08X}"


def element(keyword: str, values: list[Any]) -> Document:
    """One DICOM JSON element (PS3.18 F.2)."""
    vr = dictionary_VR(keyword)
    return {"vr": vr, "Value": values} if values else {"vr": vr}
