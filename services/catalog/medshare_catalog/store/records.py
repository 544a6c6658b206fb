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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from pydicom.errors import InvalidDicomError
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.deadline import max_time_ms, run_pipeline
from medshare_catalog.store.derive import DERIVED_FIELDS, derive
from medshare_catalog.store.dicom_header import read_header
from medshare_catalog.store.facets import (
    FacetOp,
    FacetReadModel,
    FacetTally,
    facet_cell,
    facet_op,
)
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
QUEUE_PROJECTION = {
    "text_tokens": 0,
    "revision": 0,
    "deid": 0,
    "dicom.attributes": 0,
    "facet_cell": 0,
    "facet_op": 0,
}
REDERIVE_BATCH = 1000
# Every field a search filters on, indexed with the newest-first sort behind it:
# `(field, ingested_at desc, _id desc)` serves an equality on the field in sort order
# (MongoDB walks it without sorting; SecantusDB reads a time window of it as one range).
NEWEST = (("ingested_at", DESCENDING), ("_id", DESCENDING))
SORTED_FIELDS = (
    "institution",
    "kind",
    "modality",
    "body_part",
    "study_year",
    "age_band",
    "sex",
    "zip3",
    "diagnosis_codes",
    "text_tokens",
    "results.model_name",
    "release.state",
)
INDEXES: tuple[tuple[tuple[str, int], ...], ...] = (
    NEWEST,
    *(((name, ASCENDING), *NEWEST) for name in SORTED_FIELDS),
    (("results.model_name", ASCENDING), ("results.model_version", ASCENDING)),
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
        self.facets = FacetReadModel(collection.database[f"{collection.name}_facets"])

    async def ensure_indexes(self) -> None:
        for keys in INDEXES:
            await self.collection.create_index(list(keys))
        await self.facets.mark_complete_if_empty(self.collection)

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
        """Recompute derived fields from facts; write only what changed (compare-and-set).

        A changed facet contribution is written with its delta as a pending op and the
        revision bumped (so a racing refresh re-reads), then applied (store/facets.py).
        """
        for _ in range(REFRESH_ATTEMPTS):
            document = await self.collection.find_one({"_id": record_id})
            if document is None:
                return None
            pending = document.get("facet_op")
            if pending:
                await self._finish(record_id, pending)  # a crash or a racing replica left it
                continue
            derived = derive(document, self.gates, self.require_gate_verdict)
            changed: Document = {k: v for k, v in derived.items() if document.get(k) != v}
            update: Document = {}
            cell = facet_cell({**document, **derived})
            if cell != document.get("facet_cell"):
                changed["facet_cell"] = cell
                op = facet_op(document.get("facet_cell"), cell)
                if op is not None:
                    changed["facet_op"] = op
                update["$inc"] = {"revision": 1}
            if not changed:
                return as_record(document)
            update["$set"] = changed
            result = await self.collection.update_one(
                {"_id": record_id, "revision": document.get("revision")}, update
            )
            if result.matched_count:
                written = {**document, **changed}
                if "$inc" in update:
                    written["revision"] = (document.get("revision") or 0) + 1
                if changed.get("facet_op"):
                    await self._finish(record_id, changed["facet_op"])
                    del written["facet_op"]
                return as_record(written)
        raise RuntimeError(f"record {record_id} kept changing while being derived")

    async def _finish(self, record_id: str, op: FacetOp) -> None:
        await self.facets.apply(op)
        await self.collection.update_one(
            {"_id": record_id, "facet_op.id": op["id"]}, {"$unset": {"facet_op": ""}}
        )
        await self.facets.forget(op)

    async def rederive_all(self, progress: Callable[[int], None] | None = None) -> int:
        """Every record's derived fields, then the facet buckets (bulk; catalog stopped)."""
        tally = FacetTally()
        batch: list[UpdateOne] = []
        count = 0
        async for document in self.collection.find({}, batch_size=REDERIVE_BATCH):
            count += 1
            derived = derive(document, self.gates, self.require_gate_verdict)
            cell = facet_cell({**document, **derived})
            tally.add(cell)
            changed: Document = {k: v for k, v in derived.items() if document.get(k) != v}
            update: Document = {}
            if cell != document.get("facet_cell"):
                changed["facet_cell"] = cell
                update["$inc"] = {"revision": 1}
            if "facet_op" in document:
                update["$unset"] = {"facet_op": ""}  # the rebuild below counts the cell
            if changed:
                update["$set"] = changed
            if update:
                batch.append(UpdateOne({"_id": document["_id"]}, update))
            if len(batch) >= REDERIVE_BATCH:
                await self.collection.bulk_write(batch, ordered=False)
                batch = []
            if progress and count % REDERIVE_BATCH == 0:
                progress(count)
        if batch:
            await self.collection.bulk_write(batch, ordered=False)
        await self.facets.replace(tally)
        if progress:
            progress(count)
        return count

    async def rebuild_facets(self) -> int:
        """The facet read model from the cells the records hold (after a bulk load)."""
        tally = FacetTally()
        async for document in self.collection.find({}, {"facet_cell": 1}, batch_size=5000):
            tally.add(document.get("facet_cell"))
        return await self.facets.replace(tally)

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
    cell = facet_cell(document)
    if cell is not None:  # what the refresh after the folds writes, bumping the revision
        document["facet_cell"] = cell
        document["revision"] += 1
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
