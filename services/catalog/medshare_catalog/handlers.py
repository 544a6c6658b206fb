"""Catalog event handlers: fold each topic into the record store.

The envelope's event id and time travel with the payload: the store applies an
event only when it is newer than what the record already holds, which is what
makes replays and redeliveries change nothing.
"""

from __future__ import annotations

from medshare_catalog.records import RecordStore
from medshare_shared.events import DeidentifiedEvent, InferredEvent, QuarantinedEvent
from medshare_shared.log import current_trace_id
from medshare_shared.metrics import EVENTS_CONSUMED
from medshare_shared.topics import Topics

SERVICE = "catalog"


class CatalogHandlers:
    def __init__(self, records: RecordStore, topics: Topics):
        self.records = records
        self.topics = topics

    async def on_deidentified(self, event: DeidentifiedEvent) -> None:
        current_trace_id.set(event.trace_id)
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
