"""Quarantined candidates in the held zone: what a steward sees, and what a release copies.

The anonymizer keeps a quarantined record's de-identified candidate (header or text
de-identified; pixels as they came, or text its verifier doubted) in the held bucket,
never in the shared zone. Only stewards read it here, and a steward's release is the
one way it reaches the shared zone: copied under the same key, then folded as the
record's de-identified fact.
"""

from __future__ import annotations

import json
from typing import Any

from medshare_catalog.store.record import CatalogRecord, Document
from medshare_shared.events import RecordDeidentified
from medshare_shared.object_store import ObjectStore

# A case report shown to a steward is cut here: enough to judge, bounded in size.
MAX_TEXT_BYTES = 256 * 1024


class NoCandidate(LookupError):
    """The record has no held candidate (it was never de-identified far enough)."""


def candidate_of(document: CatalogRecord | Document) -> RecordDeidentified:
    """The quarantine's candidate as an event payload; NoCandidate when there is none."""
    held = (document.get("quarantine") or {}).get("candidate")
    if not held:
        raise NoCandidate("no de-identified candidate was kept for this record")
    return RecordDeidentified.model_validate(held)


class HeldZone:
    def __init__(self, store: ObjectStore, held_bucket: str, shared_bucket: str):
        self.store = store
        self.held_bucket = held_bucket
        self.shared_bucket = shared_bucket

    def _checked(self, candidate: RecordDeidentified) -> RecordDeidentified:
        # An event is a claim: only the held bucket, only under the institution's prefix.
        key = candidate.shared_key
        if candidate.shared_bucket != self.held_bucket or not key.startswith(
            f"{candidate.institution}/"
        ) or any(part in ("", ".", "..") for part in key.split("/")):  # fmt: skip
            raise NoCandidate("the candidate is not in the held zone")
        return candidate

    async def read(self, document: CatalogRecord | Document) -> tuple[RecordDeidentified, bytes]:
        candidate = self._checked(candidate_of(document))
        return candidate, await self.store.get(self.held_bucket, candidate.shared_key)

    @staticmethod
    def parse(data: bytes) -> Any:
        """A case report's JSON as a steward reads it, cut to a bounded size."""
        if len(data) > MAX_TEXT_BYTES:
            return {"truncated": True, "text": data[:MAX_TEXT_BYTES].decode(errors="replace")}
        return json.loads(data)

    async def text(self, document: CatalogRecord | Document) -> Any:
        _, data = await self.read(document)
        return self.parse(data)

    async def promote(self, document: CatalogRecord | Document) -> RecordDeidentified:
        """Copy the candidate into the shared zone; the payload to fold as de-identified."""
        candidate, data = await self.read(document)
        stored = await self.store.put(
            self.shared_bucket, candidate.shared_key, data, candidate.content_type
        )
        return candidate.model_copy(
            update={"shared_bucket": stored.bucket, "sha256": stored.sha256, "size": stored.size}
        )
