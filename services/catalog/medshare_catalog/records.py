"""The catalog's record store: folding events into MongoDB documents, idempotently.

One document per record id. Every fold is an upsert with `$set` of values taken
from the event, so applying the same event twice (a replay, a redelivery) leaves
the document as one application would. Events may arrive in any order across
topics: an inference result can land before its de-identified record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from medshare_shared.events import RecordDeidentified, RecordInferred, RecordQuarantined

Document = dict[str, Any]


def model_key(model_name: str, model_version: str) -> str:
    # Field names may not contain dots; versions do ("1.0.0").
    return f"{model_name}@{model_version}".replace(".", "_")


class RecordStore:
    def __init__(self, collection: AsyncCollection[Document]):
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("cataloged", ASCENDING), ("_id", ASCENDING)])
        await self.collection.create_index([("kind", ASCENDING), ("_id", ASCENDING)])
        await self.collection.create_index([("institution", ASCENDING), ("_id", ASCENDING)])

    async def fold_deidentified(self, record: RecordDeidentified) -> None:
        withheld_reason = record.metadata.get("withheld_reason")
        await self.collection.update_one(
            {"_id": record.record_id},
            {
                "$set": {
                    "cataloged": True,
                    "kind": record.kind,
                    "institution": record.institution,
                    "patient_pseudonym": record.patient_pseudonym,
                    "ingested_at": record.ingested_at,
                    "object": {
                        "bucket": record.shared_bucket,
                        "key": record.shared_key,
                        "sha256": record.sha256,
                        "size": record.size,
                        "content_type": record.content_type,
                    },
                    "metadata": record.metadata,
                    "deidentification": record.report.model_dump(),
                    "release": {
                        "state": "withheld" if withheld_reason else "released",
                        "reason": withheld_reason,
                    },
                },
                "$setOnInsert": {"first_seen_at": datetime.now(UTC)},
            },
            upsert=True,
        )

    async def fold_inferred(self, record: RecordInferred) -> None:
        result = record.result
        await self.collection.update_one(
            {"_id": record.record_id},
            {
                "$set": {
                    f"models.{model_key(result.model_name, result.model_version)}": {
                        **result.model_dump(),
                    }
                },
                "$setOnInsert": {"first_seen_at": datetime.now(UTC)},
            },
            upsert=True,
        )

    async def fold_quarantined(self, record: RecordQuarantined) -> None:
        await self.collection.update_one(
            {"_id": record.record_id},
            {
                "$set": {
                    "institution": record.institution,
                    "kind": record.kind,
                    "quarantine": {
                        "stage": record.stage,
                        "reason": record.reason,
                        "findings": record.findings,
                    },
                    "release": {"state": "withheld", "reason": f"quarantined: {record.reason}"},
                },
                "$setOnInsert": {"first_seen_at": datetime.now(UTC)},
            },
            upsert=True,
        )

    async def get(self, record_id: str) -> Document | None:
        return await self.collection.find_one({"_id": record_id, "cataloged": True})

    async def page(
        self, filters: dict[str, Any], limit: int, after: str | None
    ) -> tuple[list[Document], int]:
        query: dict[str, Any] = {"cataloged": True, **filters}
        total = await self.collection.count_documents(query)
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor], total
