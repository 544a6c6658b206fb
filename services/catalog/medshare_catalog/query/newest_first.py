"""A `recent` page (newest first) read one time window at a time.

SecantusDB sorts every document its index lookup yields, so `$sort` + `$limit`
after the filters costs as much as every matching record, not as the page. A
page in (ingested_at desc, _id desc) order only
needs the newest matching records, so this reads the `(field, ingested_at)`
indexes one bounded time window at a time, newest first, each window a single
compound-index range lookup that the full filter then narrows, until the windows
read hold a page.

Why the page is exactly the old one: windows are disjoint ranges of
`ingested_at`, read from the newest down, so every matching record of an older
window sorts after every record already found; once the windows read hold
`limit` records, the first `limit` of them in sort order are the page. Each
window answers its own first `limit` (per driving value), which is all a page
can take from it. After `MAX_WINDOWS` windows the rest is read in one query
without a lower bound: the filter chain, led by its most selective index, plus
"not at or after the last window's start" (which also keeps records whose
`ingested_at` is missing or not a date, the ones no window can see), sorted and
cut by the server as before. The widths only decide how much is read, never what
is returned.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from medshare_catalog.query.stages import RANK, match_stages
from medshare_catalog.store.record import Document, to_millis
from medshare_catalog.store.records import run_pipeline

SORT = {"ingested_at": -1, "_id": -1}
# Fields indexed together with ingested_at (store/records.py INDEXES): a window on one
# value of them is one compound-index range, `{field: value, ingested_at: range}`.
WINDOW_FIELDS = (
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
# One lookup a window: a condition with several values (a researcher's institutions)
# would cost a round trip each, and under load every round trip waits its turn.
MAX_DRIVER_VALUES = 1
MAX_WINDOWS = 6
FIRST_WIDTH = timedelta(hours=1)
# BSON dates hold milliseconds. Window bounds are exclusive and one millisecond wide
# of the instants meant: SecantusDB's compound-index range drops keys equal to an
# inclusive bound; an exclusive one only adds records already read (counted once).
MILLI = timedelta(milliseconds=1)
# No window reaches below this; what lies older is left to the rest query.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
# Widths that held a page, per filter shape: paging a query reuses its own.
REMEMBERED_SHAPES = 256


def sort_key(document: Document) -> tuple[Any, Any]:
    """(ingested_at, _id): Python orders both as the server does (dates; strings by code point)."""
    return document["ingested_at"], document["_id"]


def driver(filters: list[Document]) -> tuple[str, list[Any]] | None:
    """The most selective condition a `(field, ingested_at)` index can answer, and its values."""
    best: tuple[int, str, list[Any]] | None = None
    for condition in filters:
        field, value = next(iter(condition.items()))
        if field not in WINDOW_FIELDS:
            continue
        if isinstance(value, dict):
            if set(value) != {"$in"} or not isinstance(value["$in"], list):
                continue
            values = list(value["$in"])
        else:
            values = [value]
        plain = all(isinstance(v, str) or type(v) is int for v in values)
        if not values or not plain or len(values) > MAX_DRIVER_VALUES:
            continue
        values = list(dict.fromkeys(values))
        if best is None or RANK[field] < best[0]:
            best = (RANK[field], field, values)
    return (best[1], best[2]) if best else None


class RecentPager:
    def __init__(self, collection: AsyncCollection[Document], projection: Document):
        self.collection = collection
        self.projection = projection
        self.widths: OrderedDict[str, timedelta] = OrderedDict()
        self.newest_seen: datetime | None = None

    async def run(self, pipeline: list[Document]) -> list[Document]:
        return await run_pipeline(self.collection, pipeline)

    async def page(
        self,
        filters: list[Document],
        after: Document | None,
        top: datetime | None,
        limit: int,
        projection: Document | None = None,
    ) -> list[Document]:
        """The first `limit` records matching `filters` (and `after`, the cursor condition).

        `top` is the cursor's ingested_at (no later record can follow the cursor).
        `projection` (default: the pager's) must keep `_id` and `ingested_at`.
        """
        projected = projection or self.projection
        chosen = driver(filters)
        everything = [*filters, after] if after else list(filters)
        residual = {"$and": everything} if len(everything) > 1 else everything[0]
        # Widths are remembered per filter and page size (a bounded count reads more).
        shape = json.dumps([filters, limit], sort_keys=True, default=str)
        width = self.widths.get(shape, FIRST_WIDTH)
        anchor = top or self.newest_seen
        found: dict[Any, Document] = {}
        upper = top  # the windows read [lower, upper]; the cursor condition trims the first
        lower: datetime | None = None  # the oldest instant the windows have read down to
        for _ in range(MAX_WINDOWS):
            start = anchor or datetime.now(UTC)
            if start - EARLIEST <= width:
                break  # a window this wide reads everything older: the rest query does
            lower = to_millis(start - width)
            window = {"$gt": lower - MILLI, **({"$lt": upper + MILLI} if upper else {})}
            before = len(found)
            for document in await self._window(chosen, window, residual, limit, projected):
                found.setdefault(document["_id"], document)
            if len(found) >= limit:
                break
            # Widen towards what the yield so far says a page needs (2-16x; 4x after none).
            gained = len(found) - before
            factor = 4.0 if gained == 0 else min(16.0, max(2.0, 1.5 * limit / max(len(found), 1)))
            upper, anchor = lower, lower
            width = timedelta(seconds=width.total_seconds() * factor)
        if len(found) < limit:
            rest = [*everything]
            if lower is not None:
                rest.append({"$nor": [{"ingested_at": {"$gte": lower}}]})
            for document in await self._rest(rest, limit - len(found), projected):
                found.setdefault(document["_id"], document)
        page = sorted(found.values(), key=self._key, reverse=True)[:limit]
        self._remember(shape, lower, top, page)
        return page

    async def count_upto(self, filters: list[Document], bound: int) -> int:
        """How many records match, counted up to `bound + 1` (more are not counted).

        Window by window from the newest, each one index range counted on the server
        (`$count`: no sort, no rows sent), until the windows hold more than `bound`;
        then the rest, older than the last window, counted with a `$limit`. The
        windows are disjoint (the first open above, later ones ending just before the
        previous start), so no record is counted twice.
        """
        chosen = driver(filters)
        residual = {"$and": filters} if len(filters) > 1 else filters[0]
        shape = json.dumps([filters, "count", bound], sort_keys=True, default=str)
        width = self.widths.get(shape, FIRST_WIDTH)
        start = self.newest_seen or datetime.now(UTC)
        counted, lower, need = 0, None, bound + 1
        for _ in range(MAX_WINDOWS):
            anchor = lower or start
            if anchor - EARLIEST <= width:
                break
            bounds: Document = {"$gt": to_millis(anchor - width) - MILLI}
            if lower is not None:
                bounds["$lt"] = lower  # exclusive: the previous window holds `lower`
            lower = to_millis(anchor - width)
            gained = await self._count_window(chosen, bounds, residual)
            counted += gained
            if counted >= need:
                covered = (start - lower).total_seconds() * 1.25 * need / counted
                self.widths[shape] = timedelta(seconds=max(covered, 1.0))
                self.widths.move_to_end(shape)
                return need
            factor = 4.0 if gained == 0 else min(16.0, max(2.0, 1.5 * need / max(counted, 1)))
            width = timedelta(seconds=width.total_seconds() * factor)
        rest = list(filters)
        if lower is not None:
            rest.append({"$nor": [{"ingested_at": {"$gte": lower}}]})
        stages = [*match_stages(*rest), {"$limit": need - counted}, {"$count": "n"}]
        rows = await self.run(stages)
        return counted + (int(rows[0]["n"]) if rows else 0)

    async def _count_window(
        self, chosen: tuple[str, list[Any]] | None, window: Document, residual: Document
    ) -> int:
        lead: Document = {"ingested_at": window}
        if chosen is not None:
            field, values = chosen
            lead = {field: values[0], "ingested_at": window}  # MAX_DRIVER_VALUES is 1
        rows = await self.run([{"$match": lead}, {"$match": residual}, {"$count": "n"}])
        return int(rows[0]["n"]) if rows else 0

    @staticmethod
    def _key(document: Document) -> tuple[int, Any, Any]:
        # Records from the rest query may lack a date; the server sorts those last (descending).
        moment = document.get("ingested_at")
        if isinstance(moment, datetime):
            return 1, moment, document["_id"]
        return 0, None, document["_id"]

    async def _window(
        self,
        chosen: tuple[str, list[Any]] | None,
        window: Document,
        residual: Document,
        limit: int,
        projection: Document,
    ) -> list[Document]:
        tail: list[Document] = [
            {"$match": residual},
            {"$sort": SORT},
            {"$limit": limit},
            {"$project": projection},
        ]
        if chosen is None:
            return await self.run([{"$match": {"ingested_at": window}}, *tail])
        field, values = chosen
        rows: list[Document] = []
        for value in values:
            rows += await self.run([{"$match": {field: value, "ingested_at": window}}, *tail])
        return rows

    async def _rest(
        self, filters: list[Document], limit: int, projection: Document
    ) -> list[Document]:
        stages = [*match_stages(*filters), {"$sort": SORT}, {"$limit": limit}]
        return await self.run([*stages, {"$project": projection}])

    def _remember(
        self,
        shape: str,
        lower: datetime | None,
        top: datetime | None,
        page: list[Document],
    ) -> None:
        """Keep the width that would have held this page in one window (a guess for next time)."""
        dated = [d["ingested_at"] for d in page if isinstance(d.get("ingested_at"), datetime)]
        if dated and top is None:
            newest = max(dated)
            if self.newest_seen is None or newest > self.newest_seen:
                self.newest_seen = newest
        if dated and lower is not None:
            start = top or self.newest_seen or max(dated)
            needed = start - min(dated)
            self.widths[shape] = max(needed * 1.25, timedelta(seconds=1))
            self.widths.move_to_end(shape)
            while len(self.widths) > REMEMBERED_SHAPES:
                self.widths.popitem(last=False)
