"""Search over the catalog: filters, free text, keyset pages, facets and summary statistics.

Free text: the server has no $text index, so each record carries `text_tokens`
(lower-case words of its de-identified descriptions, see derive.py); a query's
words must all be among them (`$all`), and a word ending in `*` matches as an
anchored prefix. Pages are keyset pages on a stable sort with the record id as the
tie-breaker, so records arriving between two pages neither repeat nor hide others.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from medshare_catalog.query.cursors import Sort, encode_cursor, read_cursor, sort_spec
from medshare_catalog.query.facets import FACET_PROJECTION, facet_counts, facets_from_counts
from medshare_catalog.query.filters import QueryError, QueryFilters, short_reason
from medshare_catalog.query.newest_first import WINDOW_FIELDS, RecentPager
from medshare_catalog.query.planner import WINDOWED_FROM, ResultSizes
from medshare_catalog.query.stages import conditions, driving_field, match_stages
from medshare_catalog.store.derive import tokens
from medshare_catalog.store.facets import FacetReadModel
from medshare_catalog.store.record import Document
from medshare_catalog.store.records import run_pipeline

# What a result card shows (web/static/app.js `resultCard`), the sort key, and what API
# clients match results by (the DICOM identity, every sender's provenance): a page
# carries only these (the record detail has the rest).
CARD_PROJECTION: Document = {
    name: 1
    for name in (
        "_id",
        "ingested_at",
        "kind",
        "institution",
        "modality",
        "body_part",
        "study_year",
        "age_band",
        "sex",
        "zip3",
        "device",
        "diagnosis_codes",
        "release",
        "results",
        "object",
        "metadata.study_description",
        "metadata.series_description",
        "metadata.description",
        "metadata.diagnosis_displays",
        "dicom",
        "provenances",
        "duplicate_of",
    )
}
EXACT_TOTAL_UP_TO = 1000


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
    total_is_lower_bound: bool = False  # `total` means "more than total"


class Searcher:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        exact_total_up_to: int = EXACT_TOTAL_UP_TO,
        facet_model: FacetReadModel | None = None,
    ):
        self.collection = collection
        self.recent = RecentPager(collection, CARD_PROJECTION)
        self.sizes = ResultSizes()
        self.bound = exact_total_up_to
        self.facet_model = facet_model or FacetReadModel(
            collection.database[f"{collection.name}_facets"]
        )

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
        exact_total: bool = False,
    ) -> Page:
        """One keyset page and the total of the matching records, exact up to the bound.

        Two plans, the same page. A small result is filtered, counted and sorted in
        one `$facet` pass (its total is exact). A large one (`recent` order) is read
        window by window from the `(field, ingested_at, _id)` indexes (newest_first.py),
        and its matches counted in such windows up to `bound + 1`: the total is exact
        if there are at most `bound`, otherwise `bound` with `total_is_lower_bound`
        ("more than bound"). So the cost follows the page and the bound, not the
        collection. `exact_total` counts every match instead (one fetch of
        what the leading index yields; SecantusDB has no index-only count). Which plan
        runs is decided by the total this filter had last time (planner.py).
        """
        filters = conditions(scope_filter, query.to_filter())
        after, top = read_cursor(sort, cursor) if cursor else (None, None)
        expected = self.sizes.expected(filters)
        lower_bound = False
        if sort == "recent" and (not with_total or expected > WINDOWED_FROM):
            if not with_total:
                total, items = -1, await self.recent.page(filters, after, top, limit)
            elif exact_total:
                # Side by side: the server runs connections in threads, both take time there.
                page = self.recent.page(filters, after, top, limit)
                total, items = await asyncio.gather(self.count(*filters), page)
            else:
                page = self.recent.page(filters, after, top, limit)
                if self.recent.newest_seen is None:
                    # Cold: the page learns where the newest records are, which the
                    # count's windows then start from.
                    items = await page
                    counted = await self._count_upto(filters)
                else:
                    counted, items = await asyncio.gather(self._count_upto(filters), page)
                total, lower_bound = min(counted, self.bound), counted > self.bound
        else:
            total, items = await self._one_pass(filters, after, sort, limit, with_total)
        if with_total:
            self.sizes.observe(filters, WINDOWED_FROM + 1 if lower_bound else total)
        following = encode_cursor(sort, items[-1]) if len(items) == limit else None
        return Page(items, total, following, lower_bound)

    async def _count_upto(self, filters: list[Document]) -> int:
        """Matches up to `bound + 1`: in time windows when the filter's leading index is
        one a window reads, else led by that (more selective) index with a `$limit`
        (MongoDB stops there; SecantusDB fetches what the index yields, as an exact count)."""
        leading = driving_field(*filters)
        if leading is None or leading in WINDOW_FIELDS:
            return await self.recent.count_upto(filters, self.bound)
        stages = [*match_stages(*filters), {"$limit": self.bound + 1}, {"$count": "n"}]
        rows = await self.run(stages)
        return int(rows[0]["n"]) if rows else 0

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
            {"$project": CARD_PROJECTION},
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
        """Counts per value of every filter field (and per model) under the current filters.

        From the facet read model when the filters name only its bucket fields
        (store/facets.py: a few small documents), else counted from the records.
        """
        counted = await self.facet_model.counts(combine(scope_filter, query.to_filter()))
        if counted is not None:
            return facets_from_counts(counted)
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
