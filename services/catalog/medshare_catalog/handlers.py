"""Catalog event handlers: fold each topic into the record store.

The envelope's event id and time travel with the payload: the store applies an
event only when it is newer than what the record already holds, which is what
makes replays and redeliveries change nothing.

An event is a claim, not a proof: a `records.deidentified` event whose object does not
lie under its institution's prefix in the shared zone is refused (dead letter on
`records.rejected` with the reason), so a forged or buggy event cannot hand one
institution's object to another's researchers.
"""

from __future__ import annotations

from medshare_catalog.store.records import RecordStore
from medshare_shared.consumer import PermanentError
from medshare_shared.events import (
    DeidentifiedEvent,
    InferredEvent,
    QuarantinedEvent,
    RecordDeidentified,
)
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_CONSUMED
from medshare_shared.topics import Topics

SERVICE = "catalog"


def object_key_problem(record: RecordDeidentified, shared_bucket: str | None) -> str | None:
    """Why the event's object is not the claimed institution's, or None when it is."""
    if shared_bucket is not None and record.shared_bucket != shared_bucket:
        return "object outside the shared zone"
    key = record.shared_key
    parts = key.split("/")
    if not key.startswith(f"{record.institution}/") or any(p in ("", ".", "..") for p in parts):
        return "object key outside the claimed institution's prefix"
    return None


class CatalogHandlers:
    def __init__(self, records: RecordStore, topics: Topics):
        self.records = records
        self.topics = topics

    async def on_deidentified(self, event: DeidentifiedEvent) -> None:
        current_trace_id.set(event.trace_id)
        problem = object_key_problem(event.payload, self.records.shared_bucket)
        if problem is not None:
            raise PermanentError(f"refused records.deidentified: {problem}")
        await self.records.fold_deidentified(event.payload, str(event.event_id), event.occurred_at)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.deidentified).inc()

    async def on_inferred(self, event: InferredEvent) -> None:
        current_trace_id.set(event.trace_id)
        await self.records.fold_inferred(event.payload, str(event.event_id), event.occurred_at)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.inferred).inc()

    async def on_quarantined(self, event: QuarantinedEvent) -> None:
        current_trace_id.set(event.trace_id)
        await self.records.fold_quarantined(event.payload, str(event.event_id), event.occurred_at)
        EVENTS_CONSUMED.labels(SERVICE, self.topics.quarantined).inc()
