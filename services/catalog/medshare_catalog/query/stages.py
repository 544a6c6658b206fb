"""Filters as a chain of single-condition `$match` stages, the most selective first.

Every catalog query (search, facets, statistics, datasets, DICOMweb) runs as an
aggregation whose filter is split into one `$match` per condition, led by the
condition on the most selective indexed field. MongoDB merges consecutive
`$match` stages and plans them as one; SecantusDB answers only the first stage
(a single predicate) from an index and applies the rest to what that yields.
"""

from __future__ import annotations

from medshare_catalog.store.record import Document

# Most selective first: exact ids, then fields with many distinct values.
SELECTIVITY = (
    "_id",
    "dicom.sop_uid",
    "dicom.series_uid",
    "dicom.study_uid",
    "text_tokens",
    "diagnosis_codes",
    "results.model_name",
    "zip3",
    "body_part",
    "modality",
    "study_year",
    "age_band",
    "institution",
    "sex",
    "kind",
    "release.state",
)
RANK = {name: rank for rank, name in enumerate(SELECTIVITY)}


def conditions(*filters: Document) -> list[Document]:
    """Split filters into single-key conditions (top-level `$and`s and multi-key dicts)."""
    out: list[Document] = []
    for condition in filters:
        for key, value in condition.items():
            if key == "$and":
                out.extend(conditions(*value))
            else:
                out.append({key: value})
    return out


def _rank(condition: Document) -> int:
    key = next(iter(condition))
    value = condition[key]
    if key not in RANK:
        return len(RANK)
    if isinstance(value, dict) and ("$regex" in value or "$all" in value):
        return len(RANK)  # SecantusDB answers neither from an index: never lead with them
    return RANK[key]


def match_stages(*filters: Document) -> list[Document]:
    """One `$match` per condition, the most selective indexed condition first."""
    split = conditions(*filters)
    if not split:
        return []
    ordered = sorted(enumerate(split), key=lambda item: (_rank(item[1]), item[0]))
    return [{"$match": condition} for _, condition in ordered]


def driving_field(*filters: Document) -> str | None:
    """The field the first stage filters on, if it is an indexed one."""
    stages = match_stages(*filters)
    if not stages:
        return None
    key = next(iter(stages[0]["$match"]))
    return key if _rank(stages[0]["$match"]) < len(RANK) else None
