"""Search over the catalog: filters, free text, keyset pages, facets and summary statistics.

Free text: the server has no $text index, so each record carries `text_tokens`
(lower-case words of its de-identified descriptions, see derive.py); a query's
words must all be among them (`$all`), and a word ending in `*` matches as an
anchored prefix. Pages are keyset pages on a stable sort with the record id as the
tie-breaker, so records arriving between two pages neither repeat nor hide others.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from medshare_catalog.query.facets import FACET_PROJECTION, facet_counts
from medshare_catalog.query.filters import QueryFilters, short_reason
from medshare_catalog.query.newest_first import RecentPager
from medshare_catalog.query.planner import WINDOWED_FROM, ResultSizes
from medshare_catalog.query.stages import conditions, match_stages
from medshare_catalog.store.derive import tokens
from medshare_catalog.store.record import Document
from medshare_catalog.store.records import run_pipeline

Sort = Literal["recent", "id"]
# Heavy or internal fields a result list leaves out (the record detail has them).
LIST_PROJECTION = {
    "text_tokens": 0,
    "models": 0,
    "reviews": 0,
    "revision": 0,
    "deid": 0,
    "dicom.attributes": 0,
    "deidentification.actions": 0,
}


class QueryError(ValueError):
    """A search parameter that cannot be used; the message names it."""


@dataclass
class SearchQuery:
    kind: list[str] = field(default_factory=list)
    modality: list[str] = field(default_factory=list)
    body_part: list[str] = field(default_factory=list)
    study_year: list[int] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    age_band: list[str] = field(default_factory=list)
    sex: list[str] = field(default_factory=list)
    institution: list[str] = field(default_factory=list)
    zip3: list[str] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    model: str | None = None
    model_version: str | None = None
    output: str | None = None
    output_min: float | None = None
    output_max: float | None = None
    output_value: str | None = None
    release: list[str] = field(default_factory=list)
    q: str | None = None

    def as_dict(self) -> Document:
        """The non-empty parameters (what a saved dataset keeps and the audit log shows)."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], "")}

    @classmethod
    def from_dict(cls, values: Any) -> SearchQuery:
        """A query from client or stored JSON, typed first: QueryError names what is wrong."""
        if not isinstance(values, dict):
            raise QueryError("query: an object of filters expected")
        try:
            typed = QueryFilters.model_validate(values)
        except ValidationError as error:
            raise QueryError(short_reason(error)) from None
        return cls(**typed.model_dump())

    def to_filter(self) -> Document:
        conditions: list[Document] = []

        def any_of(path: str, values: list[Any], upper: bool = False) -> None:
            if values:
                cleaned = [v.upper() if upper and isinstance(v, str) else v for v in values]
                conditions.append({path: {"$in": cleaned}})

        any_of("kind", self.kind)
        any_of("modality", self.modality, upper=True)
        any_of("body_part", self.body_part, upper=True)
        any_of("study_year", self.study_year)
        any_of("age_band", self.age_band)
        any_of("sex", self.sex, upper=True)
        any_of("institution", self.institution)
        any_of("zip3", self.zip3)
        any_of("release.state", self.release)
        if self.year_from is not None or self.year_to is not None:
            bounds: Document = {}
            if self.year_from is not None:
                bounds["$gte"] = self.year_from
            if self.year_to is not None:
                bounds["$lte"] = self.year_to
            conditions.append({"study_year": bounds})
        if len(self.diagnosis) == 1:
            conditions.extend(diagnosis_conditions(self.diagnosis[0]))
        elif self.diagnosis:
            alternatives = [combine(*diagnosis_conditions(code)) for code in self.diagnosis]
            conditions.append({"$or": alternatives})
        model = self.model_condition()
        if self.model:
            conditions.append({"results.model_name": self.model})  # what the index answers
        if model:
            conditions.append({"results": {"$elemMatch": model}})
        conditions.extend(text_conditions(self.q))
        if not conditions:
            return {}
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    def model_condition(self) -> Document:
        if self.output is not None and not re.fullmatch(r"[A-Za-z0-9_\-]+", self.output):
            raise QueryError("output: letters, digits, '_' and '-' only")
        wants_output = any(
            v is not None for v in (self.output_min, self.output_max, self.output_value)
        )
        if wants_output and not self.output:
            raise QueryError("output_min/output_max/output_value need output (the field name)")
        condition: Document = {}
        if self.model:
            condition["model_name"] = self.model
        if self.model_version:
            condition["model_version"] = self.model_version
        if self.output:
            path = f"outputs.{self.output}"
            bounds: Document = {}
            if self.output_min is not None:
                bounds["$gte"] = self.output_min
            if self.output_max is not None:
                bounds["$lte"] = self.output_max
            if self.output_value is not None:
                condition[path] = parse_scalar(self.output_value)
            elif bounds:
                condition[path] = bounds
            else:
                condition[path] = {"$exists": True}
            condition["error"] = None
        return condition


def parse_scalar(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    return text


def prefix_conditions(field: str, prefix: str) -> list[Document]:
    """Values starting with `prefix`: an index range, then the exact test.

    The range alone is what an index answers (a regex is not, on SecantusDB); on an
    array field it may also match documents where two different elements satisfy
    each bound, which the anchored pattern that follows rules out.
    """
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return [
        {field: {"$gte": prefix, "$lt": following}},
        {field: {"$regex": "^" + re.escape(prefix)}},
    ]


def diagnosis_conditions(code: str) -> list[Document]:
    cleaned = code.strip().upper()
    if cleaned.endswith("*") and cleaned[:-1]:
        return prefix_conditions("diagnosis_codes", cleaned[:-1])
    return [{"diagnosis_codes": cleaned.rstrip("*")}]


def text_conditions(text: str | None) -> list[Document]:
    """Every word must be a token of the record; `word*` any token starting so.

    One equality per word rather than `$all`: each is a single indexed predicate.
    """
    if not text or not text.strip():
        return []
    exact: set[str] = set()
    prefixes: set[str] = set()
    for word in text.split():
        found = tokens([word.rstrip("*")])
        (prefixes if word.endswith("*") else exact).update(found)
    conditions: list[Document] = [{"text_tokens": token} for token in sorted(exact)]
    for prefix in sorted(prefixes - exact):
        conditions.extend(prefix_conditions("text_tokens", prefix))
    return conditions


# -- keyset cursors ------------------------------------------------------------
def sort_spec(sort: Sort) -> list[tuple[str, int]]:
    if sort == "id":
        return [("_id", ASCENDING)]
    return [("ingested_at", DESCENDING), ("_id", DESCENDING)]


def encode_cursor(sort: Sort, document: Document) -> str:
    value = document.get("ingested_at")
    shown = value.isoformat() if isinstance(value, datetime) else None
    raw = json.dumps({"s": sort, "t": shown, "id": document["_id"]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(sort: Sort, cursor: str) -> Document:
    """The condition selecting the records after the cursor's row."""
    return read_cursor(sort, cursor)[0]


def read_cursor(sort: Sort, cursor: str) -> tuple[Document, datetime | None]:
    """The condition after the cursor's row, and (sort `recent`) that row's ingested_at."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id = str(state["id"])
        if state.get("s") != sort:
            raise QueryError("cursor belongs to another sort order")
        moment = datetime.fromisoformat(state["t"]) if state.get("t") else None
    except (ValueError, KeyError, TypeError) as error:
        if isinstance(error, QueryError):
            raise
        raise QueryError("cursor malformed") from None
    if sort == "id":
        return {"_id": {"$gt": last_id}}, None
    if moment is None:
        raise QueryError("cursor malformed")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    condition = {
        "$or": [{"ingested_at": {"$lt": moment}}, {"ingested_at": moment, "_id": {"$lt": last_id}}]
    }
    return condition, moment


def combine(*conditions: Document) -> Document:
    present = [c for c in conditions if c]
    if not present:
        return {}
    return present[0] if len(present) == 1 else {"$and": present}


@dataclass
class Page:
    items: list[Document]
    total: int
    next_cursor: str | None


class Searcher:
    def __init__(self, collection: AsyncCollection[Document]):
        self.collection = collection
        self.recent = RecentPager(collection, LIST_PROJECTION)
        self.sizes = ResultSizes()

    async def run(self, pipeline: list[Document]) -> list[Document]:
        return await run_pipeline(self.collection, pipeline)

    async def count(self, *filters: Document) -> int:
        rows = await self.run([*match_stages(*filters), {"$count": "n"}])
        return int(rows[0]["n"]) if rows else 0

    async def page(
        self,
        scope_filter: Document,
        query: SearchQuery,
        *,
        limit: int = 50,
        cursor: str | None = None,
        sort: Sort = "recent",
        with_total: bool = True,
    ) -> Page:
        """One keyset page and the total of every matching record.

        Two plans, the same answer. A small result is filtered, counted and sorted
        in one `$facet` pass, as before. A large one (`recent` order) is counted in
        a lean pass of its own (filters and `$count`; SecantusDB has no index-only
        count, so this costs one fetch of what the leading index yields) while its
        page is read window by window from the `(field, ingested_at)` indexes
        (newest_first.py), instead of the server sorting every matching record in Python.
        Which plan runs is decided by the total this filter had last time (planner.py).
        """
        filters = conditions(scope_filter, query.to_filter())
        after, top = read_cursor(sort, cursor) if cursor else (None, None)
        expected = self.sizes.expected(filters)
        if sort == "recent" and (not with_total or expected > WINDOWED_FROM):
            # Side by side: the server runs connections in threads, both take time there.
            page = self.recent.page(filters, after, top, limit)
            if with_total:
                total, items = await asyncio.gather(self.count(*filters), page)
            else:
                total, items = -1, await page
        else:
            total, items = await self._one_pass(filters, after, sort, limit, with_total)
        if with_total:
            self.sizes.observe(filters, total)
        following = encode_cursor(sort, items[-1]) if len(items) == limit else None
        return Page(items, total, following)

    async def _one_pass(
        self,
        filters: list[Document],
        after: Document | None,
        sort: Sort,
        limit: int,
        with_total: bool,
    ) -> tuple[int, list[Document]]:
        page_stages: list[Document] = [{"$match": after}] if after else []
        page_stages += [
            {"$sort": dict(sort_spec(sort))},
            {"$limit": limit},
            {"$project": LIST_PROJECTION},
        ]
        chain = match_stages(*filters)
        if not with_total:
            return -1, await self.run([*chain, *page_stages])
        counted = {"total": [{"$count": "n"}], "items": page_stages}
        rows = await self.run([*chain, {"$facet": counted}])
        result = rows[0] if rows else {"total": [], "items": []}
        total = int(result["total"][0]["n"]) if result["total"] else 0
        return total, result["items"]

    async def ids(self, scope_filter: Document, query: SearchQuery) -> list[Document]:
        """Every matching record's id, object and quasi-identifiers (datasets, risk)."""
        projection = {
            "_id": 1,
            "object": 1,
            "kind": 1,
            "institution": 1,
            "modality": 1,
            "device": 1,
            "age_band": 1,
            "sex": 1,
            "zip3": 1,
            "study_year": 1,
            "diagnosis_codes": 1,
        }
        chain = match_stages(scope_filter, query.to_filter())
        return await self.run([*chain, {"$project": projection}, {"$sort": {"_id": 1}}])

    async def facets(self, scope_filter: Document, query: SearchQuery) -> Document:
        """Counts per value of every filter field (and per model) under the current filters."""
        return facet_counts(await self.facet_documents(scope_filter, query))

    async def facet_documents(self, scope_filter: Document, query: SearchQuery) -> list[Document]:
        """Every matching record projected to its facet fields (as many as the total).

        The server only filters and projects; the counting happens here (facets.py):
        (SecantusDB runs each `$facet` branch as its own pass.)
        """
        pipeline = [
            *match_stages(scope_filter, query.to_filter()),
            {"$project": FACET_PROJECTION},
        ]
        return await self.run(pipeline)
