"""The append-only audit log: who did what, when, with which query and record ids.

The catalog only ever inserts into this collection (no update or delete path
exists in the code); stewards and admins read it through GET /audit. Entries form
a hash chain: entry n (`_id` its zero-padded sequence number) carries the hash of
entry n-1 and its own hash over its content and that link, so editing, deleting or
reordering an entry breaks the chain at that entry (`medshare catalog audit verify`,
chain.py). The `_id` is unique, so two writers (replicas) racing for the same
number cannot both win: the loser moves on to the next number.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.chain import GENESIS, ChainReport, entry_hash, entry_id, verify_chain
from medshare_catalog.store.record import Document, to_millis
from medshare_catalog.tokens import Principal

# Beyond this many ids an entry names its dataset/manifest instead (documents stay small).
MAX_IDS_PER_ENTRY = 1000
HEAD = "head"


class AuditLog:
    def __init__(self, collection: AsyncCollection[Document]):
        self.collection = collection
        # A hint where the chain ends (the entries themselves are the truth).
        self.heads = collection.database[f"{collection.name}_head"]
        self._lock = asyncio.Lock()

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
        ids = list(record_ids)
        content: Document = {
            **(extra or {}),
            "at": to_millis(datetime.now(UTC)),
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
        }
        async with self._lock:  # one writer per process; replicas race on the unique _id
            return await self._link(content)

    async def _link(self, content: Document) -> str:
        head = await self.heads.find_one({"_id": HEAD})
        seq, previous = (int(head["seq"]), str(head["hash"])) if head else (0, GENESIS)
        while True:
            following = await self.collection.find_one({"_id": entry_id(seq + 1)})
            if following is not None:  # the head lags behind another writer: walk on
                seq, previous = seq + 1, str(following["hash"])
                continue
            entry = {**content, "_id": entry_id(seq + 1), "seq": seq + 1, "prev_hash": previous}
            entry["hash"] = entry_hash(entry)
            try:
                await self.collection.insert_one(entry)
            except DuplicateKeyError:
                continue
            await self.heads.update_one(
                {"_id": HEAD, "seq": {"$lt": seq + 1}},
                {"$set": {"seq": seq + 1, "hash": entry["hash"]}},
            )
            if head is None:
                await self._create_head(seq + 1, entry["hash"])
            return str(entry["_id"])

    async def verify(self) -> ChainReport:
        """Check the whole chain (and that it still reaches the head)."""
        return await verify_chain(self.collection, await self.heads.find_one({"_id": HEAD}))

    async def _create_head(self, seq: int, digest: str) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.heads.insert_one({"_id": HEAD, "seq": seq, "hash": digest})

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
