"""`medshare bench pipeline`: the whole pipeline, end to end, on the local servers.

For each replica count (1 and 2 copies of every service), a fresh pipeline (its own
topics, buckets, database) takes N records in a DICOM:case-report mix through
ingest's HTTP door (and optionally the Kafka door), and the bench measures:
- records per second end to end: from the first submission to the last record
  visible in the catalog (with its model result, for case reports);
- latency from ingest's acknowledgement to catalog visibility (p50/p95/p99);
- where the time goes, per record: acknowledged -> de-identified (Kafka timestamp of
  records.deidentified) -> inferred (records.inferred) -> cataloged (first seen in
  MongoDB, polled by id every 0.2 s; see `watch_catalog` for the exact resolution);
- CPU (cores used on average) and peak memory of every service and of each server
  (Kafka, SeaweedFS, the MongoDB-wire server), from psutil.
Results go to a JSON file and a PNG plot next to it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import click
import psutil
from rich.console import Console
from rich.table import Table

from medshare_bench.plot import bar_plot
from medshare_bench.results import latency_summary, write_results
from medshare_infra.fleet import running_fleet
from medshare_infra.replay import read_topic
from medshare_infra.services import fresh_env
from medshare_infra.stack import LocalStack
from medshare_infra.workload import (
    Acks,
    CatalogProgress,
    build_corpus,
    dicom_templates,
    released_by_pipeline,
    send_all,
    watch_catalog,
)
from medshare_shared.settings import CommonSettings

console = Console()
# Published reference points (records/s): Orthanc stores ~250 instances/s on its
# PostgreSQL back end (storage only, no de-identification); the RSNA Anonymizer
# targets 10 files/s (de-identification only, no catalog).
ANCHORS = {"Orthanc (store only)": 250.0, "RSNA Anonymizer (target)": 10.0}
MODEL = "breast-cancer-malignancy"


def parse_mix(mix: str) -> float:
    """'dicom:case=70:30' -> the DICOM share (0.7)."""
    try:
        names, shares = mix.split("=")
        kinds, parts = names.split(":"), [float(p) for p in shares.split(":")]
        weights = dict(zip(kinds, parts, strict=True))
        return weights["dicom"] / (weights["dicom"] + weights["case"])
    except (ValueError, KeyError) as error:
        raise click.BadParameter("expected e.g. dicom:case=70:30") from error


class ResourceSampler:
    """CPU time used and peak resident memory of named process trees while a run lasts."""

    def __init__(self, pids: dict[str, list[int]], interval_s: float = 0.5):
        self.processes = {
            name: [psutil.Process(pid) for pid in group] for name, group in pids.items()
        }
        self.interval_s = interval_s
        self.peak_rss: dict[str, int] = defaultdict(int)
        self.cpu_start = self._cpu()
        self.machine_start = psutil.cpu_times()
        self.started = time.monotonic()
        self.stopping = threading.Event()
        self.machine: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _tree(self, name: str) -> list[psutil.Process]:
        found = []
        for process in self.processes[name]:
            try:
                found += [process, *process.children(recursive=True)]
            except psutil.Error:
                continue
        return found

    def _cpu(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name in self.processes:
            total = 0.0
            for process in self._tree(name):
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    continue
            totals[name] = total
        return totals

    def _sample(self) -> None:
        while not self.stopping.wait(self.interval_s):
            for name in self.processes:
                rss = 0
                for process in self._tree(name):
                    try:
                        rss += process.memory_info().rss
                    except psutil.Error:
                        continue
                self.peak_rss[name] = max(self.peak_rss[name], rss)

    def stop(self) -> dict[str, dict[str, float]]:
        self.stopping.set()
        self.thread.join()
        wall = time.monotonic() - self.started
        end = self._cpu()
        machine = psutil.cpu_times()
        before = self.machine_start
        idle = (machine.idle + machine.iowait) - (before.idle + before.iowait)
        total = sum(machine) - sum(before)
        ours = sum(end[name] - self.cpu_start[name] for name in self.processes)
        busy = (total - idle) / total * (psutil.cpu_count() or 1) if total else 0.0
        self.machine = {
            "cores": psutil.cpu_count(),
            "busy_cores": round(busy, 2),
            "pipeline_cores": round(ours / wall, 2),
            "other_processes_cores": round(max(0.0, busy - ours / wall), 2),
        }
        return {
            name: {
                "cpu_seconds": round(end[name] - self.cpu_start[name], 2),
                "cores": round((end[name] - self.cpu_start[name]) / wall, 3),
                "peak_rss_mb": round(self.peak_rss[name] / 2**20, 1),
            }
            for name in self.processes
        }


def pipeline_env(stack: LocalStack, folder: Path, models_bucket: str) -> dict[str, str]:
    return fresh_env(
        stack.env(),
        folder / f"anonymizer-{uuid.uuid4().hex[:10]}.key",
        "bench",
        {
            "MEDSHARE_MODELS_BUCKET": models_bucket,
            "MEDSHARE_CATALOG_JWT_SECRET": secrets.token_hex(32),
            "MEDSHARE_LOG_LEVEL": "WARNING",  # the bench measures the pipeline, not logging
        },
    )


def ensure_model(env: dict[str, str]) -> None:
    models = [sys.executable, "-m", "medshare_shared", "models"]
    full = {**os.environ, **env}
    if subprocess.run([*models, "show", MODEL], env=full, capture_output=True).returncode:
        with console.status(f"training {MODEL} into {env['MEDSHARE_MODELS_BUCKET']}"):
            subprocess.run([*models, "train", MODEL], env=full, check=True, capture_output=True)


def topic_times(env: dict[str, str], topic: str) -> dict[str, float]:
    """record id -> first broker timestamp (wall-clock seconds) on a topic."""
    import json

    settings = CommonSettings(kafka_bootstrap=env["MEDSHARE_KAFKA_BOOTSTRAP"])
    times: dict[str, float] = {}
    for record in asyncio.run(read_topic(settings, env["MEDSHARE_TOPIC_PREFIX"] + topic)):
        record_id = json.loads(record.value)["payload"]["record_id"]
        times.setdefault(record_id, record.timestamp / 1000)
    return times


def stage_summary(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    return {
        "median_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def run_config(
    stack: LocalStack,
    replicas: int,
    records: int,
    dicom_share: float,
    templates: list[bytes],
    kafka_share: float,
    concurrency: int,
    folder: Path,
    models_bucket: str,
    rate: float = 0.0,
) -> dict[str, Any]:
    env = pipeline_env(stack, folder, models_bucket)
    items = build_corpus(records, dicom_share, seed=replicas, templates=templates)
    expected = {item.record_id for item in items}
    case_reports = {item.record_id for item in items if item.kind == "case_report"}
    to_wall = time.time() - time.monotonic()
    with running_fleet(env, folder / f"logs-{replicas}", replicas=replicas) as fleet:
        servers = {s.name: [s.pid] for s in stack.status() if s.pid}
        sampler = ResourceSampler({**fleet.pids(), **servers})
        acks, progress = Acks(), CatalogProgress()

        async def drive() -> float:
            started = time.monotonic()
            watcher = asyncio.create_task(
                watch_catalog(
                    env["MEDSHARE_MONGO_URL"],
                    env["MEDSHARE_MONGO_DB"],
                    expected,
                    progress,
                    timeout_s=1800,
                    acks=acks,
                    want_inference=case_reports,
                    interval_s=0.2,
                )
            )
            await send_all(
                items,
                fleet.urls("ingest"),
                env["MEDSHARE_KAFKA_BOOTSTRAP"],
                env["MEDSHARE_TOPIC_PREFIX"] + "records.submitted",
                kafka_share=kafka_share,
                concurrency=concurrency,
                acks=acks,
                rate=rate,
            )
            await watcher
            return started

        with console.status(f"{records} records through {replicas} replica(s) per service"):
            started = asyncio.run(drive())
        resources = sampler.stop()
        machine = sampler.machine
    missing = expected - progress.cataloged_at.keys()
    if missing:
        raise click.ClickException(f"{len(missing)} records never reached the catalog")
    finished = max([*progress.cataloged_at.values(), *progress.inferred_at.values()])
    deidentified = topic_times(env, "records.deidentified")
    inferred = topic_times(env, "records.inferred")
    ack = {rid: at + to_wall for rid, at in acks.acked_at.items()}
    visible = {rid: at + to_wall for rid, at in progress.cataloged_at.items()}
    complete = {
        rid: (progress.inferred_at[rid] if rid in case_reports else progress.cataloged_at[rid])
        + to_wall
        for rid in expected
    }
    begin = started + to_wall
    # When each stage had passed the last record: the first stage to fall behind the
    # one before it is where the pipeline backs up.
    stage_done = {
        "acknowledged": max(ack.values()),
        "deidentified": max(deidentified.values()),
        "inferred": max(inferred.values(), default=begin),
        "cataloged": max(complete.values()),
    }
    return {
        "replicas": replicas,
        "records": records,
        "submission_rate": rate or "unpaced",
        "dicom_share": dicom_share,
        "seconds": round(finished - started, 2),
        "records_per_s": round(records / (finished - started), 2),
        "ingest_acks_per_s": round(records / (max(acks.acked_at.values()) - started), 2),
        "latency_ack_to_catalog": latency_summary([visible[r] - ack[r] for r in expected]),
        "latency_ack_to_complete": latency_summary([complete[r] - ack[r] for r in expected]),
        "stage_done_s": {name: round(at - begin, 1) for name, at in stage_done.items()},
        "stage_records_per_s": {
            name: round(len(expected) / (at - begin), 2) for name, at in stage_done.items()
        },
        "stages": {
            "ack_to_deidentified": stage_summary(
                [deidentified[r] - ack[r] for r in expected if r in deidentified]
            ),
            "deidentified_to_inferred": stage_summary(
                [inferred[r] - deidentified[r] for r in case_reports if r in inferred]
            ),
            "deidentified_to_cataloged": stage_summary(
                [visible[r] - deidentified[r] for r in expected if r in deidentified]
            ),
        },
        "resources": resources,
        "machine": machine,
        "submission_retries": acks.retries,
    }


def show(results: list[dict[str, Any]]) -> None:
    table = Table(title="medshare bench pipeline")
    for column in ("replicas", "records/s", "p50 ms", "p95 ms", "p99 ms", "busiest (cores)"):
        table.add_column(column, justify="right")
    for result in results:
        latency = result["latency_ack_to_catalog"]
        busiest = sorted(result["resources"].items(), key=lambda kv: -kv[1]["cores"])[:3]
        table.add_row(
            str(result["replicas"]),
            f"{result['records_per_s']:.1f}",
            f"{latency['p50_ms']:.0f}",
            f"{latency['p95_ms']:.0f}",
            f"{latency['p99_ms']:.0f}",
            ", ".join(f"{name} {value['cores']:.2f}" for name, value in busiest),
        )
    console.print(table)


def plot(path: Path, results: list[dict[str, Any]]) -> None:
    labels = [f"medshare x{r['replicas']}" for r in results] + list(ANCHORS)
    values = [r["records_per_s"] for r in results] + list(ANCHORS.values())
    bar_plot(path, "End-to-end throughput (records/s)", labels, {"records/s": values}, "records/s")
    names = sorted({name for r in results for name in r["resources"]})
    bar_plot(
        path.with_name(path.stem + "-cpu.png"),
        "CPU used during the run (cores, of 2)",
        names,
        {
            f"{r['replicas']} replica(s)": [r["resources"][n]["cores"] for n in names]
            for r in results
        },
        "cores",
    )


@click.command("pipeline")
@click.option("--records", default=1000, show_default=True, help="records per configuration")
@click.option("--mix", default="dicom:case=70:30", show_default=True)
@click.option("--replicas", default="1,2", show_default=True, help="replica counts, e.g. 1,2")
@click.option("--kafka-share", default=0.0, show_default=True, help="share sent to the Kafka door")
@click.option("--concurrency", default=8, show_default=True, help="HTTP clients submitting")
@click.option(
    "--rate",
    default=0.0,
    show_default=True,
    help="records/s to submit (0: as fast as ingest takes them; latency is then queueing)",
)
@click.option("--profile", default="dev", show_default=True, help="local servers to use")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bench-results/pipeline.json"),
    show_default=True,
)
def bench_pipeline(
    records: int,
    mix: str,
    replicas: str,
    kafka_share: float,
    concurrency: int,
    rate: float,
    profile: str,
    out: Path,
) -> None:
    """Records/s, ack-to-catalog latency, per-stage time and CPU/memory per process."""
    dicom_share = parse_mix(mix)
    counts = [int(part) for part in replicas.split(",") if part.strip()]
    stack = LocalStack.for_profile(profile)
    started_servers = stack.up()
    folder = out.parent / (out.stem + "-work")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        models_bucket = "bench-models"
        ensure_model({**stack.env(), "MEDSHARE_MODELS_BUCKET": models_bucket})
        with console.status("choosing DICOM templates the pipeline releases"):
            templates = dicom_templates(keep=released_by_pipeline)
        results = [
            run_config(
                stack,
                count,
                records,
                dicom_share,
                templates,
                kafka_share,
                concurrency,
                folder,
                models_bucket,
                rate,
            )
            for count in counts
        ]
    finally:
        stack.down(started_servers)
    show(results)
    write_results(
        out,
        "pipeline",
        {
            "records": records,
            "mix": mix,
            "kafka_share": kafka_share,
            "rate": rate,
            "templates": len(templates),
            "load_average_at_end": os.getloadavg(),
            "anchors_records_per_s": ANCHORS,
            "configs": results,
        },
    )
    plot(out.with_suffix(".png"), results)
    console.print(f"wrote {out} and {out.with_suffix('.png')}")
