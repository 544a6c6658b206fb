"""`medshare bench inference`: model throughput per batch size, and the real service over
real Kafka: records/s per micro-batch size, latency records.deidentified -> records.inferred,
and a profile of where the service's time goes.

Needs the servers (`medshare infra up`, then the MEDSHARE_ variables of `medshare infra
env`). Every run uses fresh topics and a fresh models bucket, and deletes nothing shared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from medshare_bench.inference_io import (
    Publisher,
    ResultReader,
    deidentified,
    feature_rows,
    inference_service,
    percentile_ms,
    profile_summary,
    stage_totals,
    wait_for_leaders,
)
from medshare_bench.plot import bar_plot
from medshare_bench.results import write_results
from medshare_inference.models import train_model
from medshare_inference.models.images import prepare_dicom
from medshare_inference.models.runtime import configure_threads, inference_device
from medshare_inference.registry import ModelRegistry
from medshare_inference.serving import LoadedModel
from medshare_infra.services import ServiceProcess
from medshare_shared.kafka import ensure_topics
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings, load_settings

console = Console()
BATCH_SIZES = (1, 8, 32, 128)


def _sample_images(count: int) -> list[bytes]:
    """Real DICOM images: deid-data's ultrasounds and clean pictures (training extras)."""
    from medshare_inference.models.image_sources import deid_real_images

    images = [image.data for image in deid_real_images() if len(image.data) < 20_000_000]
    return (images * (count // max(len(images), 1) + 1))[:count]


def model_throughput(model: LoadedModel, records: int) -> dict[str, float]:
    """records/s of predict() alone (validation + one forward pass), per batch size."""
    if model.takes_images:
        spec = model.manifest.image_input
        assert spec is not None
        prepared = [prepare_dicom(data, spec.size, spec.frames) for data in _sample_images(8)]
        inputs: list[Any] = [prepared[i % len(prepared)] for i in range(records)]
        run = model.predict_images
    else:
        inputs = feature_rows(model.manifest, records)
        run = model.predict  # type: ignore[assignment]
    rates = {}
    for size in BATCH_SIZES:
        run(inputs[:size])  # warm up
        started = time.perf_counter()
        done = 0
        while done < records:
            chunk = inputs[done : done + size]
            run(chunk)
            done += len(chunk)
        rates[str(size)] = records / (time.perf_counter() - started)
    return rates


async def _make_topics(settings: CommonSettings, prefix: str) -> CommonSettings:
    """Fresh topics under `prefix`, returned once every partition has a leader."""
    topics_env = CommonSettings(**{**settings.model_dump(), "topic_prefix": prefix})
    await ensure_topics(topics_env, topics_env.topics.all())
    await wait_for_leaders(settings.kafka_bootstrap, topics_env.topics.all())
    return topics_env


async def _preload(settings: CommonSettings, prefix: str, events: list[Any]) -> None:
    topics_env = await _make_topics(settings, prefix)
    async with Publisher(settings.kafka_bootstrap) as publisher:
        futures = [await publisher.send(topics_env.topics.deidentified, e) for e in events]
        await asyncio.gather(*futures)


def _start(service: ServiceProcess) -> None:
    service.start()
    service.wait_ready(120)


def _stop(service: ServiceProcess) -> None:
    service.stop(60)  # graceful: the profile is written


async def _service_run(
    settings: CommonSettings, service: ServiceProcess, prefix: str, events: list[Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """(arrival per record, stage seconds): one event loop for every Kafka client used."""
    await _preload(settings, prefix, events)
    reader = ResultReader(settings.kafka_bootstrap, f"{prefix}records.inferred")
    await reader.start()
    try:
        await asyncio.to_thread(_start, service)
        await reader.read_until([e.payload.record_id for e in events], timeout_s=600)
        stages = stage_totals(await asyncio.to_thread(service.metrics))
    finally:
        await reader.stop()
        await asyncio.to_thread(_stop, service)
    return reader.seen, stages


def service_run(
    settings: CommonSettings,
    env: dict[str, str],
    events: list[Any],
    batch_size: int,
    log_dir: Path,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """Pre-load the topic, start the service, time from its first result to its last."""
    prefix = f"b{uuid.uuid4().hex[:8]}."
    run_env = {**env, "MEDSHARE_TOPIC_PREFIX": prefix, "MEDSHARE_BATCH_SIZE": str(batch_size)}
    service = inference_service(run_env, log_dir / f"inference-b{batch_size}.log", profile_to)
    seen, stages = asyncio.run(_service_run(settings, service, prefix, events))
    arrivals = sorted(seen.values())
    span = arrivals[-1] - arrivals[0]
    per_record = {k: v / len(events) * 1e6 for k, v in stages.items()}
    return {
        "batch_size": batch_size,
        "records": len(events),
        "records_per_s": (len(events) - 1) / span if span > 0 else float("inf"),
        "stage_us_per_record": per_record,
    }


async def _paced_latency(
    settings: CommonSettings, prefix: str, events: list[Any], rate: float
) -> list[float]:
    """Send at `rate` while reading results: latency = arrival - send, per record."""
    topic = f"{prefix}records.deidentified"
    reader = ResultReader(settings.kafka_bootstrap, f"{prefix}records.inferred")
    await reader.start()
    sent: dict[str, float] = {}

    async def send_all() -> None:
        async with Publisher(settings.kafka_bootstrap) as publisher:
            started = time.monotonic()
            for index, event in enumerate(events):
                await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
                sent[event.payload.record_id] = time.monotonic()
                await publisher.send(topic, event)
                # Flush each one: latency must not include the bench's own batching.
                await publisher.producer.flush()

    wanted = [event.payload.record_id for event in events]
    try:
        await asyncio.gather(send_all(), reader.read_until(wanted, len(events) / rate + 60))
    finally:
        await reader.stop()
    return [reader.seen[record] - sent[record] for record in sent]


def latency_run(
    settings: CommonSettings, env: dict[str, str], events: list[Any], rate: float, log_dir: Path
) -> dict[str, float]:
    """The default micro-batch settings, records arriving one by one at `rate` per second."""
    prefix = f"l{uuid.uuid4().hex[:8]}."
    service = inference_service(
        {**env, "MEDSHARE_TOPIC_PREFIX": prefix}, log_dir / "inference-lat.log"
    )

    async def measure() -> list[float]:
        await _make_topics(settings, prefix)
        await asyncio.to_thread(_start, service)
        try:
            await _paced_latency(settings, prefix, events[:20], rate)  # warm-up
            return await _paced_latency(settings, prefix, events[20:], rate)
        finally:
            await asyncio.to_thread(_stop, service)

    latencies = asyncio.run(measure())
    return {
        "rate_per_s": rate,
        "records": float(len(latencies)),
        "p50_ms": percentile_ms(latencies, 0.50),
        "p95_ms": percentile_ms(latencies, 0.95),
        "p99_ms": percentile_ms(latencies, 0.99),
    }


async def _register(store: ObjectStore, bucket: str, name: str) -> LoadedModel:
    registry = ModelRegistry(store, bucket)
    trained = train_model(name)
    await registry.register(name, trained.manifest.version, trained.module, trained.manifest)
    await registry.promote(name, trained.manifest.version)
    return await registry.load_production(name)


async def _upload_images(store: ObjectStore, bucket: str, count: int) -> list[tuple[str, str]]:
    await store.ensure_bucket(bucket)
    keys = []
    for index, data in enumerate(_sample_images(count)):
        key = f"dicom/bench-{index}.dcm"
        await store.put(bucket, key, data, "application/dicom")
        keys.append((bucket, key))
    return keys


@click.command("inference")
@click.option("--model", "name", default="breast-cancer-malignancy", show_default=True)
@click.option("--records", type=click.IntRange(100, 1_000_000), default=3000, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("bench-results/inference.json")
)
@click.option("--latency-rate", type=float, default=100.0, show_default=True, help="records/s")
@click.option("--profile/--no-profile", default=True, show_default=True)
def bench_inference(name: str, records: int, out: Path, latency_rate: float, profile: bool) -> None:
    """Records/s at batch sizes 1, 8, 32, 128 and latency p50/p99 through the real service."""
    settings = load_settings(CommonSettings)
    configure_threads()
    run = uuid.uuid4().hex[:8]
    store = ObjectStore.from_settings(settings)
    bucket = f"bench-models-{run}"
    log_dir = out.parent / f"{out.stem}-logs"
    with console.status(f"training and registering {name}"):
        model = asyncio.run(_register(store, bucket, name))
    with console.status("model throughput (in process)"):
        in_process = model_throughput(model, min(records, 4096))
    shared = None
    if model.takes_images:
        shared = asyncio.run(_upload_images(store, f"bench-shared-{run}", 16))
        records = min(records, 1000)
    rows = feature_rows(model.manifest, records) if not model.takes_images else None
    events = [
        deidentified(i, run, rows[i] if rows else None, shared[i % len(shared)] if shared else None)
        for i in range(records)
    ]
    env = {"MEDSHARE_MODELS_BUCKET": bucket, "MEDSHARE_LOG_LEVEL": "WARNING"}
    service = []
    for size in BATCH_SIZES:
        with console.status(f"service, batch size {size}: {records} records"):
            service.append(service_run(settings, env, events, size, log_dir))
    with console.status(f"latency at {latency_rate:.0f} records/s"):
        latency = latency_run(settings, env, events[: min(records, 1020)], latency_rate, log_dir)
    profiles = {}
    if profile:
        for size in (1, 128):
            path = log_dir / f"profile-b{size}.prof"
            with console.status(f"profiling the service, batch size {size}"):
                service_run(settings, env, events, size, log_dir, path)
            profiles[str(size)] = profile_summary(path)
    base = service[0]["records_per_s"]
    results = {
        "model": name,
        "version": model.manifest.version,
        "device": str(inference_device()),
        "records": records,
        "model_only_records_per_s": in_process,
        "service": service,
        "speedup_vs_batch_1": {str(s["batch_size"]): s["records_per_s"] / base for s in service},
        "latency": latency,
        "profile": profiles,
    }
    write_results(out, "inference", results)
    labels = [str(size) for size in BATCH_SIZES]
    bar_plot(
        out.with_suffix(".png"),
        f"{name}: records/s through the service (real Kafka) by micro-batch size",
        labels,
        {"service": [s["records_per_s"] for s in service]},
        "records / s",
    )
    _print(results)
    console.print(f"wrote {out} and {out.with_suffix('.png')}")


def _print(results: dict[str, Any]) -> None:
    table = Table(title=f"{results['model']} {results['version']} on {results['device']}")
    for column in ("batch size", "model only rec/s", "service rec/s", "x batch 1"):
        table.add_column(column, justify="right")
    for row in results["service"]:
        size = str(row["batch_size"])
        table.add_row(
            size,
            f"{results['model_only_records_per_s'][size]:,.0f}",
            f"{row['records_per_s']:,.0f}",
            f"{results['speedup_vs_batch_1'][size]:.1f}",
        )
    console.print(table)
    latency = results["latency"]
    console.print(
        f"latency at {latency['rate_per_s']:.0f} rec/s: p50 {latency['p50_ms']:.1f} ms, "
        f"p99 {latency['p99_ms']:.1f} ms"
    )
    for size, summary in results["profile"].items():
        shares = ", ".join(
            f"{k} {v:.0%}" for k, v in list(summary["busy_share_by_category"].items())[:5]
        )
        console.print(f"profile, batch {size}: {shares}")
