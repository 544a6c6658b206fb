"""Facet counts as a read model (`records_facets`), kept at fold time.

A search's facets used to be counted by fetching every matching record. Here
each listed record contributes to one **bucket**: the records sharing its
institution, kind, release state and modality (the fields a caller's scope and
the commonest facet filter use). A bucket document holds, per facet field, how
many of its records carry each value. The facets of a filter that names only
bucket fields (a scope, `modality=CT`) are the sums over the buckets the same
filter matches: a few small documents whatever the collection's size. Any other
filter is counted from the records, as before (query/facets.py).

What a record contributes is kept on the record (`facet_cell`). When a fold
changes it, the refresh that writes the new cell also writes the delta as a
pending operation (`facet_op`, with an id) under the record's revision
compare-and-set, so two replicas cannot both turn the same old cell into a new
one. The operation is then applied to each bucket by a guarded upsert that
records its id (`ops`): applying it again (a redelivery after a crash, another
replica finishing it) matches no document and collides on the bucket id, so
each delta counts once. Only then is the pending operation removed from the
record and its id from the buckets. A redelivered event that changes nothing
derives the same cell and writes no delta.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, TypedDict
from urllib.parse import unquote

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.deadline import run_pipeline
from medshare_catalog.store.record import Document

FACET_FIELDS = (
    "kind",
    "modality",
    "body_part",
    "study_year",
    "age_band",
    "sex",
    "institution",
    "zip3",
    "diagnosis_codes",
    "release.state",
)
# A bucket's fields as records hold them (so a records filter matches buckets alike).
BUCKET_PATHS = ("institution", "kind", "release.state", "modality")
COMPLETE = "~complete"  # the marker: every record's contribution is in the buckets
MISSING = object()  # a path the document does not have
_VALUE_OPERATORS = {"$in", "$nin", "$eq", "$ne"}


class FacetCell(TypedDict):
    """A record's contribution: its bucket and its `field.value` keys (with repeats)."""

    at: Document
    keys: list[str]


class FacetBucketDelta(TypedDict):
    bucket: str
    at: Document
    inc: list[list[Any]]  # [path, amount]: paths hold dots, so not as a document's keys


class FacetOp(TypedDict):
    id: str
    buckets: list[FacetBucketDelta]


def value_key(value: Any) -> str:
    """A facet value as a field name: JSON, with `%`, `.` and `$` escaped."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def key_value(key: str) -> Any:
    return json.loads(unquote(key))


def value_at(document: Document, path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def facet_cell(document: Document) -> FacetCell | None:
    """What a record (facts and derived fields) adds to the facets; None if not listed.

    The same rules as counting the records (query/facets.py): null or missing values
    are left out, each diagnosis code counts, each model name once per record.
    """
    if document.get("cataloged") is not True:
        return None
    keys: list[str] = []
    for name in FACET_FIELDS:
        value = value_at(document, name)
        if value is MISSING or value is None:
            continue
        field = name.replace(".", "_")
        if name == "diagnosis_codes" and isinstance(value, list):
            keys += [f"{field}.{value_key(code)}" for code in value if code is not None]
        else:
            keys.append(f"{field}.{value_key(value)}")
    results = document.get("results")
    if isinstance(results, dict):
        results = [results]
    if isinstance(results, list):
        names = {
            value_key(r.get("model_name")) for r in results if isinstance(r, dict)
        }  # one per record and name, as a group by (record, model) counts
        keys += [f"model.{name}" for name in names]
    at = {path: value_at(document, path) for path in BUCKET_PATHS}
    at = {path: None if value is MISSING else value for path, value in at.items()}
    return {"at": at, "keys": sorted(keys)}


def bucket_id(at: Document) -> str:
    return json.dumps([at.get(path) for path in BUCKET_PATHS], default=str)


def facet_op(before: FacetCell | None, after: FacetCell | None) -> FacetOp | None:
    """The increments that turn `before` into `after`, per bucket; None if nothing moves."""
    amounts: dict[str, Counter[str]] = defaultdict(Counter)
    places: dict[str, Document] = {}
    for cell, sign in ((before, -1), (after, 1)):
        if cell is None:
            continue
        bucket = bucket_id(cell["at"])
        places[bucket] = cell["at"]
        amounts[bucket]["records"] += sign
        for key in cell["keys"]:
            amounts[bucket][f"counts.{key}"] += sign
    buckets: list[FacetBucketDelta] = []
    for bucket, counter in sorted(amounts.items()):
        inc = [[path, n] for path, n in sorted(counter.items()) if n]
        if inc:
            buckets.append({"bucket": bucket, "at": places[bucket], "inc": inc})
    return {"id": uuid.uuid4().hex, "buckets": buckets} if buckets else None


def _bucket_fields(at: Document) -> Document:
    """A bucket's own fields, shaped as a record's (so the records' filters match it)."""
    fields: Document = {"cataloged": True}
    for path, value in at.items():
        if path == "release.state":
            fields["release"] = {"state": value}
        else:
            fields[path] = value
    return fields


def answerable(condition: Any) -> bool:
    """Whether a records filter names only bucket fields (so buckets answer it exactly)."""
    if not isinstance(condition, dict):
        return False
    for key, value in condition.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not all(answerable(part) for part in value):
                return False
        elif key == "cataloged" and value is True:
            continue
        elif key == "_id" and value == {"$in": []}:
            continue  # the scope of a caller without agreements: nothing, buckets agree
        elif key in BUCKET_PATHS:
            if isinstance(value, dict) and not set(value) <= _VALUE_OPERATORS:
                return False
        else:
            return False
    return True


def summed(buckets: Iterable[Document]) -> dict[str, list[tuple[Any, int]]]:
    """(value, count) per facet over these bucket documents (zero counts left out)."""
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for bucket in buckets:
        for field, values in (bucket.get("counts") or {}).items():
            totals[field].update(values)
    return {
        field: [(key_value(key), n) for key, n in counter.items() if n > 0]
        for field, counter in totals.items()
    }


class FacetReadModel:
    def __init__(self, collection: AsyncCollection[Document]):
        self.collection = collection
        self._complete = False

    async def mark_complete_if_empty(self, records: AsyncCollection[Document]) -> None:
        """A new catalog (no records yet) is complete from its first fold on."""
        if await records.find_one({}, {"_id": 1}) is None:
            await self.collection.update_one(
                {"_id": COMPLETE}, {"$set": {"complete": True}}, upsert=True
            )

    async def complete(self) -> bool:
        if not self._complete:
            self._complete = await self.collection.find_one({"_id": COMPLETE}) is not None
        return self._complete

    async def apply(self, op: FacetOp) -> None:
        """Each bucket's increments, once: the op id guards the upsert (see above)."""
        for delta in op["buckets"]:
            with contextlib.suppress(DuplicateKeyError):  # applied already
                await self.collection.update_one(
                    {"_id": delta["bucket"], "ops": {"$ne": op["id"]}},
                    {
                        "$inc": {path: amount for path, amount in delta["inc"]},
                        "$push": {"ops": op["id"]},
                        "$setOnInsert": _bucket_fields(delta["at"]),
                    },
                    upsert=True,
                )

    async def forget(self, op: FacetOp) -> None:
        """After the record let go of the op: its id is no longer needed as a guard."""
        for delta in op["buckets"]:
            await self.collection.update_one({"_id": delta["bucket"]}, {"$pull": {"ops": op["id"]}})

    async def counts(self, condition: Document) -> dict[str, list[tuple[Any, int]]] | None:
        """(value, count) per facet under a records filter; None when buckets cannot answer."""
        if not answerable(condition) or not await self.complete():
            return None
        rows = await run_pipeline(
            self.collection, [{"$match": condition}, {"$project": {"counts": 1}}]
        )
        return summed(rows)

    async def replace(self, tally: FacetTally) -> int:
        """Every bucket from a tally of all records' cells (the catalog stopped); buckets."""
        await self.collection.delete_many({})
        documents = tally.documents()
        if documents:
            await self.collection.insert_many(documents, ordered=False)
        await self.collection.insert_one({"_id": COMPLETE, "complete": True})
        self._complete = True
        return len(documents)


class FacetTally:
    """Bucket counts summed over many cells, in memory (one entry per bucket, not per record)."""

    def __init__(self) -> None:
        self.places: dict[str, Document] = {}
        self.records: Counter[str] = Counter()
        self.counts: dict[str, dict[str, Counter[str]]] = {}

    def add(self, cell: FacetCell | None) -> None:
        if cell is None:
            return
        key = bucket_id(cell["at"])
        if key not in self.places:
            self.places[key] = cell["at"]
            self.counts[key] = defaultdict(Counter)
        self.records[key] += 1
        for path in cell["keys"]:
            field, _, value = path.partition(".")
            self.counts[key][field][value] += 1

    def documents(self) -> list[Document]:
        return [
            {
                "_id": key,
                **_bucket_fields(at),
                "records": self.records[key],
                "counts": {field: dict(c) for field, c in self.counts[key].items()},
                "ops": [],
            }
            for key, at in self.places.items()
        ]
