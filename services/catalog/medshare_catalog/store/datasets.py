"""Datasets in MongoDB: saved queries, their state, and the frozen manifest entries.

A frozen dataset never changes: only a draft can be claimed for freezing, and a
failed freeze puts it back to draft with its manifest entries removed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from medshare_catalog.store.record import Document

INSERT_BATCH = 1000


class DatasetError(ValueError):
    """A dataset operation that cannot be done now; the message says why."""


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

    async def remember_risk(self, dataset_id: str, risk: Document) -> None:
        """Keep the last risk report of a draft (a frozen dataset keeps its own)."""
        await self.datasets.update_one(
            {"_id": dataset_id, "state": "draft"}, {"$set": {"risk": risk}}
        )

    async def freeze(
        self, dataset_id: str, entries: Sequence[Document], digest: str, risk: Document, by: str
    ) -> Document:
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
            "manifest": {"records": len(entries), "sha256": digest},
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
