"""The catalog's record store: folding events into MongoDB documents, idempotently.

One document per record id. A fold writes the event's facts with a guarded upsert:
it applies only when the event is newer than what the document holds (by event
time, ties broken by event id), so a replayed or redelivered event matches no
document, its upsert collides on the record id and nothing changes. DICOM records
are then settled by the instance index (instances.py): one record per SOP Instance
UID is listed, the others are kept as its provenances. Events may
arrive in any order across topics: an inference result can land before its
de-identified record. After every fold the derived fields (search fields, release
state, lineage; see derive.py) are recomputed from the facts and written back only
if they differ, guarded by the document's revision so concurrent folds cannot
interleave a stale derivation.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from pydicom.errors import InvalidDicomError
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.deadline import max_time_ms, run_pipeline
from medshare_catalog.store.derive import DERIVED_FIELDS, derive
from medshare_catalog.store.dicom_header import read_header
from medshare_catalog.store.instances import InstanceIndex
from medshare_catalog.store.record import (
    CatalogRecord,
    Document,
    as_record,
    deidentified_facts,
    fact_rank,
    inferred_facts,
    model_key,
    quarantined_facts,
    to_millis,
)
from medshare_shared.events import RecordDeidentified, RecordInferred, RecordQuarantined
from medshare_shared.object_store import ObjectStore

log = logging.getLogger(__name__)

REFRESH_ATTEMPTS = 20
# What the review queue lists of a record (the detail has the rest).
QUEUE_PROJECTION = {"text_tokens": 0, "revision": 0, "deid": 0, "dicom.attributes": 0}
INDEXES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("ingested_at", DESCENDING), ("_id", DESCENDING)),
    (("institution", ASCENDING), ("ingested_at", DESCENDING), ("_id", DESCENDING)),
    (("kind", ASCENDING), ("ingested_at", DESCENDING)),
    (("modality", ASCENDING), ("ingested_at", DESCENDING)),
    (("body_part", ASCENDING),),
    (("study_year", ASCENDING),),
    (("age_band", ASCENDING),),
    (("sex", ASCENDING),),
    (("zip3", ASCENDING),),
    (("diagnosis_codes", ASCENDING),),
    (("text_tokens", ASCENDING),),
    (("results.model_name", ASCENDING), ("results.model_version", ASCENDING)),
    (("release.state", ASCENDING), ("ingested_at", DESCENDING)),
    (("dicom.study_uid", ASCENDING),),
    (("dicom.series_uid", ASCENDING),),
    (("dicom.sop_uid", ASCENDING),),
)


def newer_than_stored(path: str, at: datetime, event_id: str) -> Document:
    """Matches a document whose `path` fact is absent or older than (at, event_id).

    One predicate besides `_id`: SecantusDB uses the `_id` index only when the rest
    of the filter is a single condition. `$not: {$gte}` also matches a missing fact.
    """
    return {f"{path}.rank": {"$not": {"$gte": fact_rank(at, event_id)}}}


class RecordStore:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        gates: Sequence[str] = ("burned-in-text",),
        require_gate_verdict: bool = False,
        objects: ObjectStore | None = None,
        shared_bucket: str | None = None,
    ):
        self.collection = collection
        self.gates = tuple(gates)
        self.require_gate_verdict = require_gate_verdict
        self.objects = objects
        self.shared_bucket = shared_bucket
        self.instances = InstanceIndex(
            collection.database[f"{collection.name}_instances"], collection
        )

    async def ensure_indexes(self) -> None:
        for keys in INDEXES:
            await self.collection.create_index(list(keys))

    # -- folds ------------------------------------------------------------------
    async def _guarded_upsert(self, record_id: str, guard: Document, update: Document) -> bool:
        """Apply `update` if `guard` holds; False when the document already knows better."""
        update.setdefault("$inc", {})["revision"] = 1
        update["$setOnInsert"] = {"first_seen_at": to_millis(datetime.now(UTC))}
        try:
            await self.collection.update_one({"_id": record_id, **guard}, update, upsert=True)
        except DuplicateKeyError:
            return False  # the document exists and its fact is as new or newer
        return True

    async def fold_deidentified(
        self, record: RecordDeidentified, event_id: str, occurred_at: datetime
    ) -> bool:
        at = to_millis(occurred_at)
        current = await self.collection.find_one({"_id": record.record_id}, {"deid": 1})
        known = (current or {}).get("deid") or {}
        if known and (known["at"], known["event_id"]) >= (at, event_id):
            await self._settle(record)  # a crash may have left settling undone
            await self.refresh(record.record_id)
            return False
        outside = self.shared_bucket is not None and record.shared_bucket != self.shared_bucket
        header = (
            await self._dicom_header(record) if record.kind == "dicom" and not outside else None
        )
        facts = deidentified_facts(
            record,
            event_id,
            occurred_at,
            outside=outside,
            dicom=header,
            listed_by_instance=bool((header or {}).get("sop_uid")),
        )
        applied = await self._guarded_upsert(
            record.record_id, newer_than_stored("deid", at, event_id), {"$set": facts}
        )
        await self._settle(record)
        await self.refresh(record.record_id)
        return applied

    async def _settle(self, record: RecordDeidentified) -> None:
        """DICOM: one listed record per SOP Instance UID; re-derive the records it changed."""
        if record.kind != "dicom":
            return
        for record_id in await self.instances.settle(record.record_id):
            if record_id != record.record_id:
                await self.refresh(record_id)

    async def _dicom_header(self, record: RecordDeidentified) -> Document:
        if self.objects is None:
            return {}
        data = await self.objects.get(record.shared_bucket, record.shared_key)
        try:
            return await asyncio.to_thread(read_header, data)
        except (InvalidDicomError, ValueError, EOFError, OSError) as error:
            # Name the problem, not the content; QIDO then simply does not list it.
            log.warning("unreadable DICOM header", extra={"record_id": record.record_id})
            return {"error": f"unreadable header ({type(error).__name__})"}

    async def fold_inferred(
        self, record: RecordInferred, event_id: str, occurred_at: datetime
    ) -> bool:
        at = to_millis(occurred_at)
        result = record.result
        path = f"models.{model_key(result.model_name, result.model_version)}"
        applied = await self._guarded_upsert(
            record.record_id,
            newer_than_stored(path, at, event_id),
            {"$set": inferred_facts(result, event_id, occurred_at)},
        )
        await self.refresh(record.record_id)
        return applied

    async def fold_quarantined(
        self, record: RecordQuarantined, event_id: str, occurred_at: datetime
    ) -> bool:
        at = to_millis(occurred_at)
        facts = quarantined_facts(record, event_id, occurred_at)
        applied = await self._guarded_upsert(
            record.record_id, newer_than_stored("quarantine", at, event_id), {"$set": facts}
        )
        await self.refresh(record.record_id)
        return applied

    # -- steward reviews ------------------------------------------------------
    async def add_review(
        self, record_id: str, by: str, decision: str, reason: str, at: datetime | None = None
    ) -> CatalogRecord | None:
        review = {
            "review_id": uuid.uuid4().hex,
            "at": to_millis(at or datetime.now(UTC)),
            "by": by,
            "decision": decision,
            "reason": reason,
        }
        result = await self.collection.update_one(
            {"_id": record_id}, {"$push": {"reviews": review}, "$inc": {"revision": 1}}
        )
        if result.matched_count == 0:
            return None
        return await self.refresh(record_id)

    # -- derivation -----------------------------------------------------------
    async def refresh(self, record_id: str) -> CatalogRecord | None:
        """Recompute derived fields from facts; write only what changed (compare-and-set)."""
        for _ in range(REFRESH_ATTEMPTS):
            document = await self.collection.find_one({"_id": record_id})
            if document is None:
                return None
            derived = derive(document, self.gates, self.require_gate_verdict)
            changed = {k: v for k, v in derived.items() if document.get(k) != v}
            if not changed:
                return as_record(document)
            result = await self.collection.update_one(
                {"_id": record_id, "revision": document.get("revision")}, {"$set": changed}
            )
            if result.matched_count:
                return as_record({**document, **changed})
        raise RuntimeError(f"record {record_id} kept changing while being derived")

    async def rederive_all(self) -> int:
        """After a change of gates or rules: bring every document's derived fields up to date."""
        count = 0
        async for document in self.collection.find({}, {"_id": 1}):
            await self.refresh(document["_id"])
            count += 1
        return count

    # -- reads ----------------------------------------------------------------
    async def get(self, record_id: str) -> CatalogRecord | None:
        return as_record(await self.collection.find_one({"_id": record_id, "cataloged": True}))

    async def get_any(self, record_id: str) -> CatalogRecord | None:
        """Also records that never reached the shared zone (quarantined): stewards see them."""
        return as_record(await self.collection.find_one({"_id": record_id}))

    async def review_queue(
        self, state: str, cursor: str | None, limit: int
    ) -> tuple[int, list[CatalogRecord]]:
        """Records in a release state, by id after `cursor`, and how many there are in all."""
        query: Document = {"release.state": state}
        budget = max_time_ms()
        timed: dict[str, Any] = {"maxTimeMS": budget} if budget else {}
        total = await self.collection.count_documents(query, None, **timed)
        if cursor:
            query["_id"] = {"$gt": cursor}
        found = self.collection.find(query, QUEUE_PROJECTION, max_time_ms=budget)
        found = found.sort("_id", ASCENDING)
        found = found.limit(limit)
        return total, [cast(CatalogRecord, document) async for document in found]

    async def diagnosis_name(self, scope: Document, code: str) -> str | None:
        """The display name a visible record gives `code` (metadata keeps them in order)."""
        found = await self.collection.find_one(
            {"$and": [{"diagnosis_codes": code}, scope]},
            {"metadata.diagnosis_codes": 1, "metadata.diagnosis_displays": 1},
            max_time_ms=max_time_ms(),
        )
        metadata: Document = (found or {}).get("metadata") or {}
        codes, displays = metadata.get("diagnosis_codes") or [], metadata.get("diagnosis_displays")
        pairs = zip(codes, displays or [], strict=False)  # older records have no displays
        for given, display in pairs:
            if isinstance(given, str) and given.strip().upper() == code and display:
                return str(display)
        return None

    async def aggregate(self, pipeline: list[Document]) -> list[Document]:
        return await run_pipeline(self.collection, pipeline)


def folded(
    record_id: str,
    updates: Sequence[Document],
    first_seen_at: datetime,
    gates: Sequence[str],
    require_verdict: bool = False,
) -> CatalogRecord:
    """The document the folds leave after applying these facts in order (for bulk loads)."""
    document: Document = {
        "_id": record_id,
        "revision": 0,
        "first_seen_at": to_millis(first_seen_at),
    }
    for update in updates:
        for path, value in update.items():
            *parents, leaf = path.split(".")
            target = document
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        document["revision"] += 1
    document.update(derive(document, gates, require_verdict))
    return cast(CatalogRecord, document)


__all__ = [
    "DERIVED_FIELDS",
    "Document",
    "RecordStore",
    "fact_rank",
    "folded",
    "model_key",
    "run_pipeline",
]
