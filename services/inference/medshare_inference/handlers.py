"""Inference handler: micro-batches of de-identified records in, one result per model out.

FastStream hands over up to `batch_size` records (or what arrived within
`batch_wait_ms`). The BatchRunner groups them per applicable model and runs one forward
pass per group; one `records.inferred` event per (record, model) is published and every
publish is acknowledged (acks=all) before this handler returns, and only then does
FastStream commit the batch's offsets. A failure anywhere rewinds the batch instead.
"""

from __future__ import annotations

import logging
import time

from medshare_inference.metrics import BATCH_SIZE, stage
from medshare_inference.publisher import SERVICE, ResultPublisher
from medshare_inference.runner import BatchRunner
from medshare_inference.served_models import ModelHost
from medshare_shared.events import DeidentifiedEvent
from medshare_shared.metrics import EVENTS_CONSUMED, PROCESSING_SECONDS
from medshare_shared.topics import Topics

log = logging.getLogger(__name__)


class InferenceHandler:
    def __init__(
        self, host: ModelHost, publisher: ResultPublisher, topics: Topics, runner: BatchRunner
    ):
        self.host = host
        self.publisher = publisher
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
            await self.publisher.publish(outcomes)
        PROCESSING_SECONDS.labels(SERVICE, self.topics.deidentified).observe(
            time.perf_counter() - started
        )
