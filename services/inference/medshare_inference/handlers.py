"""Inference handler: micro-batches of de-identified records in, one result per model out.

FastStream hands over up to `batch_size` records (or what arrived within
`batch_wait_ms`). Records are grouped per applicable model, each group runs one
forward pass, and one `records.inferred` event per (record, model) is published.
The batch's offsets are committed only after every result was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from faststream.kafka import KafkaBroker

from medshare_inference.host import ModelHost
from medshare_shared.events import (
    DeidentifiedEvent,
    ModelResult,
    RecordInferred,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import publish_event
from medshare_shared.metrics import EVENTS_CONSUMED
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

SERVICE = "inference"


class InferenceHandler:
    def __init__(self, host: ModelHost, broker: KafkaBroker, topics: Topics):
        self.host = host
        self.broker = broker
        self.topics = topics

    async def on_deidentified_batch(self, events: list[DeidentifiedEvent]) -> None:
        # Batch size and processing time are observed by the shared delivery middleware.
        EVENTS_CONSUMED.labels(SERVICE, self.topics.deidentified).inc(len(events))
        by_model: dict[str, list[DeidentifiedEvent]] = defaultdict(list)
        for event in events:
            for model_name in self.host.models_for(event.payload):
                by_model[model_name].append(event)
        publishes = []
        for model_name, group in by_model.items():
            model = self.host.model(model_name)
            if model is None:  # unloaded between selection and now (a promotion)
                continue
            features = [event.payload.features for event in group]
            outputs = await asyncio.to_thread(model.predict, features)
            for event, output in zip(group, outputs, strict=True):
                publishes.append(
                    self.publish(event, model.manifest.name, model.manifest.version, output)
                )
        await asyncio.gather(*publishes)

    async def publish(
        self, event: DeidentifiedEvent, name: str, version: str, output: dict[str, object]
    ) -> None:
        record = event.payload
        error = output.get("error")
        confidence = output.get("confidence")
        result = ModelResult(
            model_name=name,
            model_version=version,
            outputs={k: v for k, v in output.items() if k not in {"error", "confidence"}},
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            error=str(error) if error else None,
        )
        inferred = envelope(
            RecordInferred(
                record_id=record.record_id,
                patient_pseudonym=record.patient_pseudonym,
                result=result,
            ),
            event_type="records.inferred",
            producer=SERVICE,
            trace_id=event.trace_id,
            event_id=deterministic_id("records.inferred", record.record_id, name, version),
        )
        await publish_event(
            self.broker,
            self.topics.inferred,
            inferred,
            key=record.patient_pseudonym,
            service=SERVICE,
        )
