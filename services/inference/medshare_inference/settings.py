"""Inference settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from medshare_shared.settings import CommonSettings


class InferenceSettings(CommonSettings):
    http_port: int = Field(default=8083, ge=1, le=65535)
    consumer_group: str = "medshare-inference"
    # Micro-batching: a forward pass runs when this many records arrived or the wait ran out.
    batch_size: int = Field(default=64, ge=1, le=4096)
    batch_wait_ms: int = Field(default=50, ge=1, le=60_000)
    # torch intra-op threads; 0 means one per core, capped at 2 (this is a small machine).
    torch_threads: int = Field(default=0, ge=0)
    # Promotions arrive as models.changed events within a second; this poll of the
    # production aliases is the safety net for a change event that never came.
    model_poll_s: float = Field(default=30.0, gt=0)
    # Shared-zone objects fetched at once for image models.
    image_fetch_concurrency: int = Field(default=8, ge=1, le=256)
    # When set, the event loop's thread is profiled (cProfile) from the end of start-up to
    # shutdown and the stats written here: `medshare bench inference --profile` uses it.
    profile_file: Path | None = None
