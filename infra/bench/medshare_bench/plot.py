"""Benchmark plots: PNG files next to the JSON results (matplotlib without a display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


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
