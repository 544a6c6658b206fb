"""The results of inference as records.inferred events, and their publisher (a
`medshare_shared.kafka.BatchPublisher`: a micro-batch's results go out at once)."""

from __future__ import annotations

from collections.abc import Sequence

from medshare_inference.runner import Outcome
from medshare_shared.events import (
    InferredEvent,
    ModelResult,
    RecordInferred,
    deterministic_id,
    envelope,
)
from medshare_shared.kafka import BatchPublisher

SERVICE = "inference"


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


class ResultPublisher:
    """records.inferred: every result of a micro-batch queued at once, then awaited."""

    def __init__(self, bootstrap: str, topic: str, client_id: str = "medshare-inference"):
        self.events = BatchPublisher(bootstrap, topic, service=SERVICE, client_id=client_id)

    async def start(self) -> None:
        await self.events.start()

    async def stop(self) -> None:
        await self.events.stop()

    async def publish(self, outcomes: Sequence[Outcome]) -> None:
        """Returns once the broker acknowledged every result; keyed by the pseudonym."""
        await self.events.publish(
            [
                (outcome.event.payload.patient_pseudonym, inferred_event(outcome))
                for outcome in outcomes
            ]
        )
