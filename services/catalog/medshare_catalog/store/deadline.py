"""A time limit on every query a request runs, enforced by the server and by the client.

The limit is set per request (`QUERY_TIME_LIMIT`, by the HTTP middleware); folds
from Kafka run without one. Each aggregation carries `maxTimeMS` (MongoDB and
SecantusDB abort the operation server-side; SecantusDB polls its deadline between
documents, so one document's match is never interrupted) and is also awaited under
a client-side deadline a second longer, so the API answers even if the server
does not stop.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ExecutionTimeout

from medshare_catalog.store.record import Document

QUERY_TIME_LIMIT: ContextVar[float | None] = ContextVar("query_time_limit", default=None)
CLIENT_GRACE_S = 1.0


class QueryTimeout(Exception):
    """A query ran past the request's time limit."""

    def __init__(self, limit_s: float):
        super().__init__(f"the query ran past the {limit_s:g} s time limit; narrow the filters")
        self.limit_s = limit_s


def max_time_ms() -> int | None:
    """The server-side budget of a query issued now (None: no limit)."""
    limit = QUERY_TIME_LIMIT.get()
    return None if limit is None else max(1, int(limit * 1000))


async def run_pipeline(
    collection: AsyncCollection[Document], pipeline: list[Document]
) -> list[Document]:
    """Every row of an aggregation, within the request's time limit (QueryTimeout past it)."""
    limit = QUERY_TIME_LIMIT.get()
    if limit is None:
        return await (await collection.aggregate(pipeline)).to_list()
    try:
        async with asyncio.timeout(limit + CLIENT_GRACE_S):
            cursor = await collection.aggregate(pipeline, maxTimeMS=max_time_ms())
            return await cursor.to_list()
    except (TimeoutError, ExecutionTimeout):
        raise QueryTimeout(limit) from None
