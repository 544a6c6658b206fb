"""Inference's own metrics: micro-batch sizes and where a micro-batch's time goes, per stage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Histogram

BATCH_SIZE = Histogram(
    "medshare_batch_size",
    "Records per micro-batch",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
STAGE_SECONDS = Histogram(
    "medshare_inference_stage_seconds",
    "Time per micro-batch in each stage of the handler",
    ["stage"],  # fetch (shared-zone objects), forward (validation + one pass), publish (acks)
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


@contextmanager
def stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)
