"""Facet counts done in Python follow the rules of the `$facet` pipeline they replace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medshare_catalog.query.facets import FACET_SIZE, facet_counts, ranked
from medshare_catalog.query.newest_first import driver
from medshare_catalog.query.planner import WINDOWED_FROM, ResultSizes


def test_values_rank_by_count_then_bson_order_and_skip_nulls() -> None:
    values = ["b", "a", 2015, 2015.0, None, True, 1, "b", "a", "c"]
    rows = ranked([v for v in values if v is not None], None)
    # 2015 and 2015.0 are one value (the first seen stands for it); true is not the number 1.
    assert rows == [
        {"value": 2015, "count": 2},
        {"value": "a", "count": 2},
        {"value": "b", "count": 2},
        {"value": 1, "count": 1},
        {"value": "c", "count": 1},
        {"value": True, "count": 1},
    ]
    assert len(ranked(range(FACET_SIZE + 7), FACET_SIZE)) == FACET_SIZE


def test_facets_unwind_codes_and_count_each_model_once_per_record() -> None:
    documents: list[dict[str, Any]] = [
        {"_id": "r1", "kind": "case_report", "diagnosis_codes": ["C50.9", "I10"],
         "release": {"state": "released"},
         "results": [{"model_name": "m"}, {"model_name": "m"}, {"model_name": "n"}]},
        {"_id": "r2", "kind": "dicom", "modality": "CT", "diagnosis_codes": [],
         "release": {"state": "withheld"}, "results": [{}]},
        {"_id": "r3", "kind": "dicom", "modality": None, "study_year": 2020, "results": []},
    ]  # fmt: skip
    facets = facet_counts(documents)
    assert facets["kind"] == [{"value": "dicom", "count": 2}, {"value": "case_report", "count": 1}]
    assert facets["modality"] == [{"value": "CT", "count": 1}]
    assert facets["diagnosis_codes"] == [
        {"value": "C50.9", "count": 1},
        {"value": "I10", "count": 1},
    ]
    assert facets["release_state"] == [
        {"value": "released", "count": 1},
        {"value": "withheld", "count": 1},
    ]
    # A result without a model name counts under null, as `$group` on a missing field does.
    assert facets["model"] == [
        {"value": None, "count": 1},
        {"value": "m", "count": 1},
        {"value": "n", "count": 1},
    ]
    assert facets["zip3"] == [] and facets["study_year"] == [{"value": 2020, "count": 1}]


def test_windows_are_driven_by_the_most_selective_indexed_field() -> None:
    scope: list[dict[str, Any]] = [
        {"cataloged": True},
        {"release.state": "released"},
        {"institution": {"$in": ["a", "b"]}},
    ]
    # Several values would cost a lookup each per window: the next single-valued one drives.
    assert driver(scope) == ("release.state", ["released"])
    assert driver([*scope, {"institution": "a"}]) == ("institution", ["a"])
    assert driver([*scope, {"modality": {"$in": ["CT"]}}]) == ("modality", ["CT"])
    assert driver([{"cataloged": True}]) is None
    assert driver([{"institution": {"$in": [{"$regex": "x"}]}}]) is None
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    assert driver([{"kind": {"$in": [moment]}}]) is None  # only plain strings and integers


def test_plan_guess_until_counted_then_the_last_total() -> None:
    sizes = ResultSizes()
    broad: list[dict[str, Any]] = [{"cataloged": True}, {"institution": {"$in": ["a"]}}]
    narrow = [*broad, {"text_tokens": "chest"}]
    assert sizes.expected(broad) > WINDOWED_FROM
    assert sizes.expected(narrow) <= WINDOWED_FROM
    sizes.observe(broad, 12)
    sizes.observe(narrow, 50_000)
    assert sizes.expected(broad) == 12 and sizes.expected(narrow) == 50_000
