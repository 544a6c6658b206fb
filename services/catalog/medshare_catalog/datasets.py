"""Datasets: a saved query, then a frozen manifest of exactly which records and bytes.

A dataset belongs to one project and is evaluated under that project's data-use
agreements. Freezing runs the query once more, checks re-identification risk,
and writes the manifest: every record id with the SHA-256 of its shared-zone
object, plus a SHA-256 over the whole manifest so a study can cite and verify it.
A frozen dataset never changes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
INSERT_BATCH = 1000
MANIFEST_COLUMNS = ("record_id", "kind", "institution", "sha256", "size", "content_type", "key")


class DatasetError(ValueError):
    """A dataset operation that cannot be done now; the message says why."""


def manifest_entry(document: Document) -> Document:
    stored: Document = document.get("object") or {}
    return {
        "record_id": document["_id"],
        "kind": document.get("kind"),
        "institution": document.get("institution"),
        "sha256": stored.get("sha256"),
        "size": stored.get("size"),
        "content_type": stored.get("content_type"),
        "key": stored.get("key"),
    }


def manifest_digest(entries: Sequence[Document]) -> str:
    """SHA-256 over `record_id sha256` lines in record-id order: the dataset's fingerprint."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e["record_id"]):
        digest.update(f"{entry['record_id']} {entry['sha256']}\n".encode())
    return digest.hexdigest()


class DatasetStore:
    def __init__(self, database: AsyncDatabase[Document]):
        self.datasets = database["datasets"]
        self.items = database["dataset_items"]

    async def ensure_indexes(self) -> None:
        await self.datasets.create_index([("project", ASCENDING), ("created_at", ASCENDING)])
        await self.items.create_index([("dataset", ASCENDING), ("record_id", ASCENDING)])

    async def create(self, name: str, project: str, owner: str, query: Document) -> Document:
        document = {
            "_id": uuid.uuid4().hex[:16],
            "name": name,
            "project": project,
            "owner": owner,
            "query": query,
            "state": "draft",
            "created_at": datetime.now(UTC),
        }
        await self.datasets.insert_one(document)
        return document

    async def get(self, dataset_id: str) -> Document | None:
        return await self.datasets.find_one({"_id": dataset_id})

    async def in_projects(self, projects: Sequence[str] | None) -> list[Document]:
        query = {} if projects is None else {"project": {"$in": list(projects)}}
        found = self.datasets.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [doc async for doc in found]

    async def claim_for_freeze(self, dataset_id: str) -> bool:
        """Only one freeze runs per dataset: the one that moves it out of draft."""
        result = await self.datasets.update_one(
            {"_id": dataset_id, "state": "draft"}, {"$set": {"state": "freezing"}}
        )
        return result.modified_count == 1

    async def release_claim(self, dataset_id: str, risk: Document | None = None) -> None:
        update: Document = {"state": "draft"}
        if risk is not None:
            update["risk"] = risk
        await self.items.delete_many({"dataset": dataset_id})
        await self.datasets.update_one({"_id": dataset_id, "state": "freezing"}, {"$set": update})

    async def freeze(
        self, dataset_id: str, records: Sequence[Document], risk: Document, by: str
    ) -> Document:
        entries = [manifest_entry(doc) for doc in records]
        for start in range(0, len(entries), INSERT_BATCH):
            batch = entries[start : start + INSERT_BATCH]
            await self.items.insert_many(
                [
                    {"_id": f"{dataset_id}:{e['record_id']}", "dataset": dataset_id, **e}
                    for e in batch
                ]
            )
        frozen = {
            "state": "frozen",
            "frozen_at": datetime.now(UTC),
            "frozen_by": by,
            "risk": risk,
            "manifest": {"records": len(entries), "sha256": manifest_digest(entries)},
        }
        result = await self.datasets.update_one(
            {"_id": dataset_id, "state": "freezing"}, {"$set": frozen}
        )
        if result.modified_count != 1:
            raise DatasetError("dataset changed state while freezing")
        document = await self.get(dataset_id)
        assert document is not None
        return document

    async def entries(self, dataset_id: str) -> AsyncIterator[Document]:
        found = self.items.find({"dataset": dataset_id}, {"_id": 0, "dataset": 0})
        async for entry in found.sort("record_id", ASCENDING):
            yield entry

    async def record_ids(self, dataset_id: str) -> list[str]:
        return [entry["record_id"] async for entry in self.entries(dataset_id)]


def public_dataset(document: Document) -> Document:
    view = {k: v for k, v in document.items() if k != "_id"}
    view["dataset_id"] = document["_id"]
    return view


def manifest_header(dataset: Document) -> Document:
    return {
        "dataset_id": dataset["_id"],
        "name": dataset["name"],
        "project": dataset["project"],
        "query": dataset["query"],
        "frozen_at": dataset.get("frozen_at"),
        "frozen_by": dataset.get("frozen_by"),
        "k": (dataset.get("risk") or {}).get("k"),
        "l": (dataset.get("risk") or {}).get("l"),
        "manifest_sha256": (dataset.get("manifest") or {}).get("sha256"),
        "record_count": (dataset.get("manifest") or {}).get("records"),
    }


async def manifest_json(
    dataset: Document, entries: AsyncIterator[Document]
) -> AsyncIterator[bytes]:
    """The manifest as one JSON document, streamed record by record."""
    header = json.dumps(manifest_header(dataset), default=str)
    yield (header[:-1] + ', "records": [').encode()
    first = True
    async for entry in entries:
        yield (("" if first else ",") + "\n  " + json.dumps(entry)).encode()
        first = False
    yield b"\n]}\n"


async def manifest_csv(entries: AsyncIterator[Document]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    async for entry in entries:
        writer.writerow([entry.get(column, "") for column in MANIFEST_COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
