"""The facet read model (store/facets.py): cells, deltas, and sums equal to counting records."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from medshare_catalog.query.facets import facet_counts, facets_from_counts
from medshare_catalog.store.facets import (
    FacetTally,
    answerable,
    facet_cell,
    facet_op,
    key_value,
    summed,
    value_key,
)
from medshare_catalog.store.synthetic import synthetic_document, synthetic_event

GATES = ("burned-in-text",)


def documents(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [synthetic_document(*synthetic_event(i, rng), GATES) for i in range(n)]


@pytest.mark.parametrize("value", ["CT", "C50.9", "$x.%y", 2015, 2015.5, True, None, 'a"b'])
def test_value_keys_round_trip_and_hold_no_dot_or_dollar(value: Any) -> None:
    key = value_key(value)
    assert "." not in key and "$" not in key
    assert key_value(key) == value and type(key_value(key)) is type(value)


def test_a_record_not_listed_contributes_nothing() -> None:
    document = documents(1)[0]
    assert facet_cell({**document, "cataloged": False}) is None
    assert facet_op(None, None) is None


def test_bucket_sums_equal_counting_the_records_under_bucket_filters() -> None:
    corpus = documents(600)
    tally = FacetTally()
    for document in corpus:
        tally.add(facet_cell(document))
    buckets = tally.documents()

    def matching(test: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        records = [d for d in corpus if d.get("cataloged") and test(d)]
        return records, [b for b in buckets if test(b)]

    for test in (
        lambda d: True,
        lambda d: d.get("modality") == "CT",
        lambda d: d["release"]["state"] == "released" and d["institution"] in {"hospital-01"},
        lambda d: d.get("kind") == "case_report",
    ):
        records, chosen = matching(test)
        assert facets_from_counts(summed(chosen)) == facet_counts(records)


def test_a_delta_moves_a_record_between_buckets_and_cancels_out_when_reverted() -> None:
    document = next(d for d in documents(50) if d["release"]["state"] == "released")
    before = facet_cell(document)
    after = facet_cell({**document, "release": {"state": "withheld", "reason": "x"}})
    assert before is not None and after is not None
    forth, back = facet_op(before, after), facet_op(after, before)
    assert forth is not None and back is not None and len(forth["buckets"]) == 2
    net: Counter[tuple[str, str]] = Counter()
    for op in (forth, back):
        for delta in op["buckets"]:
            for path, amount in delta["inc"]:
                net[(delta["bucket"], path)] += amount
    assert not +net and not -net
    # A change inside one bucket (a new model) touches only the changed keys.
    more = {**document, "results": [*document.get("results", []), {"model_name": "new-model"}]}
    inside = facet_op(before, facet_cell(more))
    assert inside is not None and len(inside["buckets"]) == 1
    assert inside["buckets"][0]["inc"] == [['counts.model."new-model"', 1]]


def test_only_filters_on_bucket_fields_are_answered_from_buckets() -> None:
    scope = {
        "cataloged": True,
        "release.state": "released",
        "$or": [{"institution": {"$in": ["a", "b"]}, "kind": {"$in": ["dicom"]}}],
    }
    assert answerable(scope)
    assert answerable({"$and": [scope, {"modality": {"$in": ["CT"]}}]})
    assert answerable({"_id": {"$in": []}})
    assert not answerable({"$and": [scope, {"text_tokens": "chest"}]})
    assert not answerable({"modality": {"$regex": "^C"}})
    assert not answerable({"_id": {"$in": ["x"]}})
