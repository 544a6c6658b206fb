"""`medshare bench ingest`: instances per second and acknowledgement latency, per door.

The bench starts its own ingest service as a process, pointed at the servers the
MEDSHARE_ environment names (the dev or test profile), with fresh topics and a
fresh raw bucket that it removes afterwards. It sends real DICOM files (pydicom's
test data) with fresh UIDs, so every instance is new and dedupe never answers in
place of the real work, with 1, 8 and 32 concurrent clients:

- http: POST /instances, acknowledged by the 202;
- dicom: C-STORE over one association per client, acknowledged by the status;
- kafka: the raw form on records.submitted, acknowledged when records.ingested
  carries its submission id (Kafka has no reply; that is when it is safe).
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from medshare_bench.ingest_doors import DOORS, DoorRun, run_door
from medshare_bench.ingest_service import BenchService
from medshare_bench.peers.orthanc import run_orthanc_store, unavailable_reason
from medshare_bench.plot import bar_plot
from medshare_bench.results import latency_summary, write_results
from medshare_ingest.sample_data import diverse_samples, renewed
from medshare_shared.settings import CommonSettings, load_settings

ORTHANC_ANCHOR = {
    "instances_per_s": 250,
    "setup": "Orthanc, PostgreSQL back end, 5 clients (published figure)",
}


def instance_stream(pool: list[bytes]) -> Iterator[bytes]:
    """Endless fresh instances: the pool's files in turn, each with new UIDs."""
    index = 0
    while True:
        yield renewed(pool[index % len(pool)])
        index += 1


def renewable(paths: list[Path]) -> list[bytes]:
    """The files pydicom can write back with new UIDs (a few of its samples it cannot)."""
    pool = []
    for path in paths:
        data = path.read_bytes()
        try:
            renewed(data)
        except (TypeError, ValueError, AttributeError):
            continue
        pool.append(data)
    return pool


@click.command("ingest")
@click.option("--files", "count", default=200, show_default=True, type=click.IntRange(1),
              help="instances per door and concurrency level")  # fmt: skip
@click.option("--via", "doors", multiple=True, type=click.Choice(DOORS), default=("http",),
              show_default=True, help="door(s) to measure; repeat for several")  # fmt: skip
@click.option("--concurrency", "levels", default="1,8,32", show_default=True,
              help="comma-separated numbers of concurrent clients")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("bench-results/ingest.json"), show_default=True)  # fmt: skip
@click.option("--max-file-bytes", default=600_000, show_default=True,
              help="largest sample file to use")  # fmt: skip
@click.option("--orthanc/--no-orthanc", default=True, show_default=True,
              help="also measure Orthanc on this machine (when installed)")  # fmt: skip
def bench_ingest(
    count: int,
    doors: tuple[str, ...],
    levels: str,
    out: Path,
    max_file_bytes: int,
    orthanc: bool,
) -> None:
    """Measure ingest's doors against the local servers (MEDSHARE_ environment)."""
    console = Console()
    concurrency = [int(level) for level in levels.split(",") if level.strip()]
    settings = load_settings(CommonSettings)
    pool = renewable(diverse_samples(10_000, max_bytes=max_file_bytes))
    console.print(
        f"{len(pool)} sample files (mean {sum(map(len, pool)) / len(pool) / 1024:.0f} KiB); "
        f"servers: kafka={settings.kafka_bootstrap} s3={settings.s3_endpoint}"
    )
    run_id = uuid.uuid4().hex[:8]
    results: dict[str, Any] = {
        "files_per_level": count,
        "sample_files": len(pool),
        "mean_instance_bytes": round(sum(map(len, pool)) / len(pool)),
        "doors": {},
        "orthanc_anchor": ORTHANC_ANCHOR,
    }
    stream = instance_stream(pool)
    with BenchService(settings, run_id, out.parent / f"ingest-{run_id}.log") as service:
        for door in doors:
            rows = []
            for level in concurrency:
                instances = [next(stream) for _ in range(count)]
                run = asyncio.run(run_door(door, service, instances, level))
                rows.append(_row(run, level, instances))
                console.print(_line(door, rows[-1]))
            results["doors"][door] = rows
    if orthanc:
        results["orthanc_here"] = _orthanc(console, stream, count, concurrency, out.parent)
        if "rows" in results["orthanc_here"]:
            results["doors"]["orthanc (http)"] = results["orthanc_here"]["rows"]
    results["table"] = _table_rows(results["doors"])
    write_results(out, "ingest", results)
    _plot(out, results["doors"], concurrency)
    _print_table(console, results["doors"])
    console.print(f"wrote {out}")


def _orthanc(
    console: Console, stream: Iterator[bytes], count: int, levels: list[int], folder: Path
) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        console.print(f"Orthanc not measured: {reason}")
        return {"skipped": reason}
    batches = {level: [next(stream) for _ in range(count)] for level in levels}
    with tempfile.TemporaryDirectory(dir=folder) as workdir:
        version, runs = run_orthanc_store(batches, Path(workdir))
    rows = [_row(runs[level], level, batches[level]) for level in levels]
    for row in rows:
        console.print(_line("orthanc", row))
    return {"version": version, "setup": "Debian Orthanc, SQLite index, same machine and "
            "client, POST /instances", "rows": rows}  # fmt: skip


def _row(run: DoorRun, level: int, instances: list[bytes]) -> dict[str, Any]:
    stored = len(run.latencies_s)
    return {
        "concurrency": level,
        "sent": len(instances),
        "acknowledged": stored,
        "errors": run.errors,
        "seconds": round(run.wall_s, 3),
        "instances_per_s": round(stored / run.wall_s, 1) if run.wall_s else 0.0,
        "mb_per_s": round(sum(map(len, instances)) / run.wall_s / 1e6, 2) if run.wall_s else 0,
        **{key: round(value, 1) for key, value in latency_summary(run.latencies_s).items()},
    }


def _line(door: str, row: dict[str, Any]) -> str:
    return (
        f"{door:5s} x{row['concurrency']:<3d} {row['instances_per_s']:7.1f} instances/s  "
        f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}"
    )


def _table_rows(doors: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"door": door, **row} for door, rows in doors.items() for row in rows]


def _print_table(console: Console, doors: dict[str, list[dict[str, Any]]]) -> None:
    table = Table(title="medshare ingest: instances acknowledged")
    for column in ("door", "clients", "instances/s", "MB/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right")
    for door, rows in doors.items():
        for row in rows:
            table.add_row(door, str(row["concurrency"]), f"{row['instances_per_s']:.1f}",
                          f"{row['mb_per_s']:.2f}", f"{row['p50_ms']:.1f}",
                          f"{row['p99_ms']:.1f}", str(row["errors"]))  # fmt: skip
    console.print(table)
    console.print(f"anchor: {ORTHANC_ANCHOR['instances_per_s']} instances/s "
                  f"({ORTHANC_ANCHOR['setup']})")  # fmt: skip


def _plot(out: Path, doors: dict[str, list[dict[str, Any]]], levels: list[int]) -> None:
    series: dict[str, Sequence[float]] = {
        door: [row["instances_per_s"] for row in rows] for door, rows in doors.items()
    }
    bar_plot(out.with_suffix(".png"), "medshare ingest: instances/s acknowledged",
             [f"{level} clients" for level in levels], series, "instances/s")  # fmt: skip
