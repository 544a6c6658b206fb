"""The append-only audit log: who did what, when, with which query and record ids.

The catalog only ever inserts into this collection (no update or delete path
exists in the code); stewards and admins read it through GET /audit. Denied
attempts are logged too, with the reason.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from medshare_catalog.tokens import Principal

Document = dict[str, Any]
# Beyond this many ids an entry names its dataset/manifest instead (documents stay small).
MAX_IDS_PER_ENTRY = 1000


class AuditLog:
    def __init__(self, collection: AsyncCollection[Document]):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("at", DESCENDING), ("_id", DESCENDING)])
        await self.collection.create_index([("user", ASCENDING), ("at", DESCENDING)])
        await self.collection.create_index([("action", ASCENDING), ("at", DESCENDING)])
        await self.collection.create_index([("record_ids", ASCENDING)])

    async def append(
        self,
        *,
        principal: Principal | None,
        action: str,
        method: str,
        path: str,
        query: Document | None = None,
        record_ids: Sequence[str] = (),
        outcome: str = "ok",
        status: int = 200,
        detail: str | None = None,
        extra: Document | None = None,
    ) -> str:
        entry_id = uuid.uuid4().hex
        ids = list(record_ids)
        entry: Document = {
            "_id": entry_id,
            "at": datetime.now(UTC),
            "user": principal.user if principal else None,
            "role": principal.role if principal else None,
            "token_id": principal.token_id if principal else None,
            "action": action,
            "method": method,
            "path": path,
            "query": query or {},
            "record_ids": ids[:MAX_IDS_PER_ENTRY],
            "record_count": len(ids),
            "outcome": outcome,
            "status": status,
            "detail": detail,
            **(extra or {}),
        }
        await self.collection.insert_one(entry)
        return entry_id

    async def search(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        record_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Document], str | None]:
        """Newest first; `cursor` continues after the last entry of the previous page."""
        query: Document = {}
        if user:
            query["user"] = user
        if action:
            query["action"] = action
        if record_id:
            query["record_ids"] = record_id
        if outcome:
            query["outcome"] = outcome
        if since or until:
            query["at"] = {
                **({"$gte": since} if since else {}),
                **({"$lt": until} if until else {}),
            }
        if cursor:
            at, last_id = decode_cursor(cursor)
            query = {
                "$and": [
                    query,
                    {"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": last_id}}]},
                ]
            }
        found = self.collection.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        entries = [doc async for doc in found.limit(limit)]
        following = (
            encode_cursor(entries[-1]["at"], entries[-1]["_id"]) if len(entries) == limit else None
        )
        return entries, following


def encode_cursor(at: datetime, entry_id: str) -> str:
    raw = json.dumps([at.isoformat(), entry_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, entry_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(at)
    except (ValueError, TypeError) as error:
        raise ValueError("cursor malformed") from error
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), str(entry_id)
