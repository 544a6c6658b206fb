"""Inference handler: micro-batches of de-identified records in, one result per model out.

FastStream hands over up to `batch_size` records (or what arrived within
`batch_wait_ms`). The BatchRunner groups them per applicable model and runs one forward
pass per group; one `records.inferred` event per (record, model) is published and every
publish is acknowledged (acks=all) before this handler returns, and only then does
FastStream commit the batch's offsets. A failure anywhere rewinds the batch instead.
"""

from __future__ import annotations

import asyncio
import logging
import time

from faststream.kafka import KafkaBroker

from medshare_inference.host import ModelHost
from medshare_inference.metrics import stage
from medshare_inference.runner import BatchRunner, Outcome
from medshare_shared.events import (
    DeidentifiedEvent,
    InferredEvent,
    ModelResult,
    RecordInferred,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import publish_event
from medshare_shared.metrics import BATCH_SIZE, EVENTS_CONSUMED, PROCESSING_SECONDS
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)

SERVICE = "inference"


class InferenceHandler:
    def __init__(self, host: ModelHost, broker: KafkaBroker, topics: Topics, runner: BatchRunner):
        self.host = host
        self.broker = broker
        self.topics = topics
        self.runner = runner

    async def on_deidentified_batch(self, events: list[DeidentifiedEvent]) -> None:
        started = time.perf_counter()
        EVENTS_CONSUMED.labels(SERVICE, self.topics.deidentified).inc(len(events))
        BATCH_SIZE.labels(SERVICE).observe(len(events))
        # One snapshot of the loaded models for the whole batch: a promotion landing
        # mid-batch applies from the next batch on, never to half of this one.
        models = dict(self.host.loaded)
        outcomes = await self.runner.run(events, models, self.host.models_for)
        with stage("publish"):
            await asyncio.gather(*(publish_result(self.broker, self.topics, o) for o in outcomes))
        PROCESSING_SECONDS.labels(SERVICE, self.topics.deidentified).observe(
            time.perf_counter() - started
        )


def inferred_event(outcome: Outcome) -> InferredEvent:
    record = outcome.event.payload
    output = outcome.result
    error = output.get("error")
    confidence = output.get("confidence")
    result = ModelResult(
        model_name=outcome.model_name,
        model_version=outcome.model_version,
        outputs={k: v for k, v in output.items() if k not in {"error", "confidence"}},
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        error=str(error) if error else None,
    )
    return envelope(
        RecordInferred(
            record_id=record.record_id, patient_pseudonym=record.patient_pseudonym, result=result
        ),
        event_type="records.inferred",
        producer=SERVICE,
        trace_id=outcome.event.trace_id,
        # One id per (record, model, version): a retried batch republishes the same ids.
        event_id=deterministic_id(
            "records.inferred", record.record_id, outcome.model_name, outcome.model_version
        ),
    )


async def publish_result(broker: KafkaBroker, topics: Topics, outcome: Outcome) -> None:
    await publish_event(
        broker,
        topics.inferred,
        inferred_event(outcome),
        key=outcome.event.payload.patient_pseudonym,
        service=SERVICE,
    )
