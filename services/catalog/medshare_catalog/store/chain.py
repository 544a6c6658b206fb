"""The audit log's hash chain: how an entry's hash is computed and how the chain is checked.

An entry's hash is SHA-256 over its canonical JSON (sorted keys, times as UTC
milliseconds, the `hash` field left out), which includes `seq` and `prev_hash`:
the hash of the entry before it (64 zeros for the first). Verification walks the
entries in sequence order and names the first that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from medshare_catalog.store.record import Document

GENESIS = "0" * 64


def entry_id(seq: int) -> str:
    return f"{seq:012d}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def entry_hash(entry: Document) -> str:
    content = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ChainReport:
    entries: int
    broken_at: str | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def _in_order(collection: AsyncCollection[Document]) -> AsyncIterator[Document]:
    async for entry in collection.find({}).sort("_id", ASCENDING):
        yield entry


async def verify_chain(
    collection: AsyncCollection[Document], head: Document | None = None
) -> ChainReport:
    """Walk the chain; the first entry that is missing, edited or out of place breaks it."""
    expected_seq, previous, count = 1, GENESIS, 0
    async for entry in _in_order(collection):
        name = str(entry.get("_id"))
        if name != entry_id(expected_seq) or entry.get("seq") != expected_seq:
            return ChainReport(count, name, f"expected entry {entry_id(expected_seq)} here")
        if entry.get("prev_hash") != previous:
            return ChainReport(count, name, "does not link to the entry before it")
        if entry.get("hash") != entry_hash(entry):
            return ChainReport(count, name, "content does not match its hash")
        previous, expected_seq, count = str(entry["hash"]), expected_seq + 1, count + 1
    if head is not None and int(head.get("seq", 0)) > count:
        missing = entry_id(count + 1)
        return ChainReport(count, missing, f"the log ends at {count}, the head names {head['seq']}")
    return ChainReport(count)
