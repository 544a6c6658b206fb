"""One DICOM instance is one catalog record, whoever sent it and by whichever door.

A SOP Instance UID names one object worldwide, and the anonymizer's UID remap
does not depend on the sender, so copies of one instance keep one de-identified
UID. Ingest's record id is per institution and per byte content (a C-STORE SCP
writes other bytes than a STOW client), so several records can hold one
instance. The `instances` collection keeps, per de-identified SOP Instance UID,
every record that carried it (its provenance: institution, door, time, object).

The record listed in the catalog (the canonical one) is the earliest received
(ties by record id): a pure function of the provenances, so the order folds run
in, or how often, cannot change it. The others stay as documents (stewards and
lineage see them) but are not `cataloged`, so search, QIDO and WADO see one.
A copy whose pixel data differs from the canonical one is a conflict: it is
kept as a flagged provenance and withheld for stewards; what researchers see
does not change under them.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.record import Document


def provenance(document: Document) -> Document:
    """What one record says about where its copy of the instance came from (no PHI)."""
    deid: Document = document.get("deid") or {}
    stored: Document = document.get("object") or {}
    dicom: Document = document.get("dicom") or {}
    return {
        "record_id": document["_id"],
        "institution": document.get("institution"),
        "door": document.get("door"),
        "ingested_at": document.get("ingested_at"),
        "object": {"bucket": stored.get("bucket"), "key": stored.get("key")},
        "sha256": stored.get("sha256"),
        "pixel_sha256": dicom.get("pixel_sha256"),
        "rank": deid.get("rank"),
    }


def _arrival(entry: Document) -> tuple[str, str]:
    at = entry.get("ingested_at")
    return (at.isoformat() if isinstance(at, datetime) else str(at or ""), entry["record_id"])


def resolve(provenances: list[Document]) -> tuple[str, list[Document]]:
    """The canonical record id, and every provenance (earliest first) with its conflict flag."""
    ordered = sorted(provenances, key=_arrival)
    first = ordered[0]
    listed = []
    for entry in ordered:
        conflict = entry["record_id"] != first["record_id"] and entry.get(
            "pixel_sha256"
        ) != first.get("pixel_sha256")
        listed.append({**{k: v for k, v in entry.items() if k != "rank"}, "conflict": conflict})
    return first["record_id"], listed


class InstanceIndex:
    """Provenances by de-identified SOP Instance UID, and who of them is listed."""

    def __init__(self, instances: AsyncCollection[Document], records: AsyncCollection[Document]):
        self.instances = instances
        self.records = records

    async def settle(self, record_id: str) -> list[str]:
        """Add this record's provenance to its instance, then list exactly one of the copies.

        Returns the record ids whose instance facts changed (the caller re-derives them).
        Idempotent: a provenance already known at this rank writes nothing.
        """
        document = await self.records.find_one(
            {"_id": record_id},
            {"deid": 1, "object": 1, "dicom": 1, "institution": 1, "door": 1, "ingested_at": 1},
        )
        sop_uid = ((document or {}).get("dicom") or {}).get("sop_uid")
        if document is None or not sop_uid or not document.get("deid"):
            return []
        entry = provenance(document)
        # Already known at this rank: the upsert collides and writes nothing, and the sync
        # below still runs (a crash may have come between the two).
        with contextlib.suppress(DuplicateKeyError):
            await self.instances.update_one(
                {"_id": sop_uid, f"provenances.{record_id}.rank": {"$ne": entry["rank"]}},
                {"$set": {f"provenances.{record_id}": entry}, "$inc": {"revision": 1}},
                upsert=True,
            )
        return await self.sync(sop_uid)

    async def sync(self, sop_uid: str) -> list[str]:
        """Write the instance's decision into each record it names (newer revisions only)."""
        instance = await self.instances.find_one({"_id": sop_uid})
        if not instance:
            return []
        revision: int = instance["revision"]
        canonical, listed = resolve(list((instance.get("provenances") or {}).values()))
        changed = []
        for entry in listed:
            record_id = entry["record_id"]
            facts: Document = {
                "instance": {"sop_uid": sop_uid, "revision": revision, "canonical": canonical},
                "cataloged": record_id == canonical,
                "duplicate_of": None if record_id == canonical else canonical,
                "instance_conflict": entry["conflict"],
            }
            update: dict[str, Any] = {"$set": facts, "$inc": {"revision": 1}}
            if record_id == canonical:
                facts["provenances"] = listed
            else:
                update["$unset"] = {"provenances": ""}
            result = await self.records.update_one(
                {"_id": record_id, "instance.revision": {"$not": {"$gte": revision}}}, update
            )
            if result.modified_count:
                changed.append(record_id)
        return changed
