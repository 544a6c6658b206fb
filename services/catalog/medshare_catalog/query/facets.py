"""Facet counts of the records a search matches, counted here from their projected fields.

The counts are the ones a `$facet` pipeline would answer, rule for rule:
per field, records whose value is null or missing are left out (`$ne: null`),
`diagnosis_codes` counts each code of a record (`$unwind`), values are grouped
by BSON equality (so 2015 and 2015.0 are one value, true and 1 are not), sorted
by count descending then value ascending in BSON order, and cut to `FACET_SIZE`;
`model` counts each record once per model name among its results (`$unwind`
then a group by record and model), unlimited. The server only filters and
projects (SecantusDB runs each `$facet` branch as its own pass).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

from medshare_catalog.store.facets import FACET_FIELDS, MISSING, value_at
from medshare_catalog.store.record import Document

FACET_SIZE = 50
FACET_PROJECTION: Document = {**{name: 1 for name in FACET_FIELDS}, "results.model_name": 1}


def _bson_rank(value: Any) -> int:
    """MongoDB's order of types: null, numbers, strings, objects, arrays, ..., booleans, dates."""
    if value is None:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, int | float):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, dict):
        return 4
    if isinstance(value, list | tuple):
        return 5
    if isinstance(value, datetime):
        return 9
    return 6


def _group_key(value: Any) -> Hashable:
    """Equal under BSON comparison -> equal key (a bool never equals the number 1)."""
    if isinstance(value, list | tuple):
        return ("array", tuple(_group_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple((k, _group_key(v)) for k, v in value.items()))
    return (_bson_rank(value), value)


def _order_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, list | tuple | dict):
        return _bson_rank(value), repr(value)  # never a facet value in practice
    return _bson_rank(value), value


def ranked(values: Iterable[Any], size: int | None) -> list[Document]:
    """[{value, count}] by count descending, then value ascending; the first `size`."""
    return ranked_counts(((value, 1) for value in values), size)


def ranked_counts(pairs: Iterable[tuple[Any, int]], size: int | None) -> list[Document]:
    """`ranked` of (value, count) pairs: values equal under BSON comparison summed."""
    counts: dict[Hashable, list[Any]] = {}
    for value, count in pairs:
        key = _group_key(value)
        if key in counts:
            counts[key][1] += count
        else:
            counts[key] = [value, count]  # the first value seen stands for the group
    rows = sorted(counts.values(), key=lambda row: (-row[1], _order_key(row[0])))
    if size is not None:
        rows = rows[:size]
    return [{"value": value, "count": count} for value, count in rows]


def _field_values(documents: list[Document], name: str) -> Iterable[Any]:
    for document in documents:
        value = value_at(document, name)
        if value is MISSING or value is None:
            continue
        if name == "diagnosis_codes" and isinstance(value, list):
            yield from (code for code in value if code is not None)
        else:
            yield value


def _model_names(documents: list[Document]) -> Iterable[Any]:
    for document in documents:
        results = document.get("results")
        if isinstance(results, dict):
            results = [results]
        if not isinstance(results, list):
            continue
        names: dict[Hashable, Any] = {}
        for result in results:
            if isinstance(result, dict):
                name = result.get("model_name")
                names.setdefault(_group_key(name), name)
        yield from names.values()


def facet_counts(documents: list[Document]) -> Document:
    """Every facet of FACET_FIELDS (dots as underscores) and `model`, as the API answers them."""
    answer: Document = {
        name.replace(".", "_"): ranked(_field_values(documents, name), FACET_SIZE)
        for name in FACET_FIELDS
    }
    answer["model"] = ranked(_model_names(documents), None)
    return answer


def facets_from_counts(counted: dict[str, list[tuple[Any, int]]]) -> Document:
    """The facet read model's sums (store/facets.py) in `facet_counts`'s shape and order."""
    answer: Document = {
        name.replace(".", "_"): ranked_counts(counted.get(name.replace(".", "_"), []), FACET_SIZE)
        for name in FACET_FIELDS
    }
    answer["model"] = ranked_counts(counted.get("model", []), None)
    return answer
