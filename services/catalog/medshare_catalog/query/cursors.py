"""Keyset cursors: a page ends at a row, the next page starts after its sort key.

`recent` pages are in (ingested_at desc, _id desc) order, `id` pages in _id order;
a cursor encodes the last row's (ingested_at, _id) (or _id), so records arriving
between two pages neither repeat nor hide others, and a page costs what the
index range after the key holds, not what lies before it (no skip).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Literal

from pymongo import ASCENDING, DESCENDING

from medshare_catalog.query.filters import QueryError
from medshare_catalog.store.record import Document

Sort = Literal["recent", "id"]


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
