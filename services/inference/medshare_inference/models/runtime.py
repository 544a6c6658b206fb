"""Where and on how many threads torch runs."""

from __future__ import annotations

import contextlib
import os

import torch


def configure_threads(requested: int = 0) -> int:
    """Set torch's intra-op threads; 0 means one per core, capped at 2.

    Micro-batches of tabular records are tiny: more threads add contention with the
    event loop and the other services on a small machine, not speed.
    """
    threads = requested or min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    # Inter-op parallelism only helps graphs with independent branches; these have none.
    with contextlib.suppress(RuntimeError):  # allowed once, before any parallel work
        torch.set_num_interop_threads(1)
    return threads


def inference_device() -> torch.device:
    """CUDA when present, else CPU; the same code runs on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
