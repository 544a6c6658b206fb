"""`medshare bench ...`: one command group, each package adds its own benchmark.

Packages register click commands under the `medshare.bench` entry-point group
(e.g. `deid = "medshare_anonymizer.bench:bench_deid"`), so `medshare bench deid`
works without shared code knowing about any service.
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click


class BenchCommands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({entry.name for entry in entry_points(group="medshare.bench")})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = next(iter(entry_points(group="medshare.bench", name=cmd_name)), None)
        return entry.load() if entry is not None else None


@click.group(cls=BenchCommands)
def bench() -> None:
    """Benchmarks: results as JSON (and a PNG plot) for the README's tables."""


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "mean_ms": (statistics.fmean(seconds) * 1000) if seconds else 0.0,
    }


def machine() -> dict[str, Any]:
    import os

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(path: Path, benchmark: str, results: dict[str, Any]) -> dict[str, Any]:
    """Write a benchmark's results with when and where it ran; returns what was written."""
    document = {
        "benchmark": benchmark,
        "ran_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        **results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str))
    return document


def bar_plot(
    path: Path,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    ylabel: str,
) -> None:
    """A grouped bar chart as PNG (matplotlib without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        offsets = [position + index * width for position in range(len(labels))]
        axes.bar(offsets, list(values), width=width, label=name)
    axes.set_xticks([position + 0.4 - width / 2 for position in range(len(labels))])
    axes.set_xticklabels(list(labels))
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if len(series) > 1:
        axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
