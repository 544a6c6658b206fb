"""`medshare bench ...`: one command group, one module per benchmark.

Each benchmark is imported only when it runs (or its help is asked for): the
inference bench pulls in torch, the deid bench its peers.
"""

from __future__ import annotations

import importlib

import click

BENCHMARKS = {
    "catalog": "medshare_bench.catalog:bench_catalog",
    "deid": "medshare_bench.deid:bench_deid",
    "inference": "medshare_bench.inference:bench_inference",
    "notes": "medshare_bench.notes:bench_notes",
    "ingest": "medshare_bench.ingest:bench_ingest",
    "pipeline": "medshare_bench.pipeline:bench_pipeline",
    "pixels": "medshare_bench.pixels:bench_pixels",
}


class BenchCommands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(BENCHMARKS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = BENCHMARKS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=BenchCommands)
def bench() -> None:
    """Benchmarks: results as JSON (and a PNG plot) for the README's tables."""
