"""`medshare models ...`: train, register, list, promote and show models."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from typing import TypeVar

import click
from rich.console import Console
from rich.json import JSON
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medshare_inference.models import TRAINERS, train_model
from medshare_inference.models.manifest import VERSION_PATTERN, ModelManifest
from medshare_inference.models.training import DEFAULT_SEED
from medshare_inference.promotions import announce_change
from medshare_inference.registry import ModelRegistry, RegistryError
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings, SettingsError, load_settings

T = TypeVar("T")
console = Console()


ANNOUNCE_TIMEOUT_S = 10.0


def _settings() -> CommonSettings:
    try:
        return load_settings(CommonSettings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _registry() -> ModelRegistry:
    settings = _settings()
    return ModelRegistry(ObjectStore.from_settings(settings), settings.models_bucket)


async def _announce(name: str, version: str) -> None:
    """Tell running services about a promotion (models.changed); bounded, so a promote
    with Kafka down still completes: the services' alias poll catches up."""
    await asyncio.wait_for(announce_change(_settings(), name, version), ANNOUNCE_TIMEOUT_S)


def _announce_or_warn(name: str, version: str) -> None:
    try:
        asyncio.run(_announce(name, version))
    except Exception as error:  # Kafka unreachable or slow: the alias is already moved
        console.print(
            f"[yellow]could not announce the change ({type(error).__name__}); running "
            "services pick it up at their next alias poll (MEDSHARE_MODEL_POLL_S)[/]"
        )
    else:
        console.print("announced on models.changed: running services switch within seconds")


def _run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    try:
        return asyncio.run(wrapped())
    except RegistryError as error:
        raise click.ClickException(str(error)) from None


def _metrics_table(manifest: ModelManifest, seconds: float | None = None) -> Table:
    table = Table(title=f"{manifest.name} {manifest.version} (held-out test set)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in manifest.metrics.items():
        table.add_row(key, f"{value:.4f}")
    data = manifest.training_data
    table.add_row("train / test", f"{data.n_train} / {data.n_test}")
    table.add_row("seed", str(data.seed))
    if seconds is not None:
        table.add_row("training time", f"{seconds:.2f} s")
    return table


@click.group("models")
def models_cli() -> None:
    """Versioned models in the models bucket (MEDSHARE_MODELS_BUCKET)."""


@models_cli.command()
@click.argument("name", type=click.Choice(sorted(TRAINERS)))
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--version", "version", default=None, help="default: 1.0.0, else next patch")
@click.option(
    "--promote/--no-promote",
    default=None,
    help="make it the production version (default: only if there is none yet)",
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="reuse weights cached under MEDSHARE_CACHE for the same training code and seed "
    "(only models that take minutes to train)",
)
def train(name: str, seed: int, version: str | None, promote: bool | None, cache: bool) -> None:
    """Train NAME with a fixed seed, evaluate it, register it and maybe promote it."""
    if version is not None and not re.match(VERSION_PATTERN, version):
        raise click.BadParameter("expected MAJOR.MINOR.PATCH", param_hint="--version")
    registry = _registry()
    with console.status("Reading the registry"):
        chosen = version or _run(registry.next_version(name))
        current = _run(registry.production_version(name))
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"Training {name} {chosen}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        trained = train_model(name, seed=seed, version=chosen, progress=report, cache=cache)
    console.print(_metrics_table(trained.manifest, trained.seconds))
    with console.status("Registering"):
        manifest = _run(registry.register(name, chosen, trained.module, trained.manifest))
    console.print(f"registered {name} {chosen} sha256={manifest.sha256[:16]}…")
    if promote or (promote is None and current is None):
        _run(registry.promote(name, chosen))
        console.print(f"[green]promoted[/] {name} {chosen} to production")
        _announce_or_warn(name, chosen)
    elif current is not None:
        console.print(f"production stays at {current} (use `medshare models promote`)")


@models_cli.command("list")
def list_models() -> None:
    """Every registered version; the production one is marked."""
    registry = _registry()

    async def gather() -> tuple[list[ModelManifest], dict[str, str | None]]:
        manifests = await registry.list_models()
        names = sorted({m.name for m in manifests})
        versions = await asyncio.gather(*(registry.production_version(n) for n in names))
        return manifests, dict(zip(names, versions, strict=True))

    manifests, production = _run(gather())
    if not manifests:
        console.print(f"no models in bucket {registry.bucket}")
        return
    table = Table(title=f"models in {registry.bucket}")
    # Names and versions are what people copy into `promote`: never wrap them.
    table.add_column("name", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("prod")
    table.add_column("created")
    table.add_column("metrics")
    table.add_column("sha256", no_wrap=True)
    for manifest in manifests:
        metrics = "\n".join(f"{k}={v:.3f}" for k, v in manifest.metrics.items())
        created = manifest.created_at.strftime("%Y-%m-%d") if manifest.created_at else ""
        table.add_row(
            manifest.name,
            manifest.version,
            "✓" if production.get(manifest.name) == manifest.version else "",
            created,
            metrics,
            manifest.sha256[:8],
        )
    console.print(table)


@models_cli.command()
@click.argument("name")
@click.argument("version")
def promote(name: str, version: str) -> None:
    """Serve VERSION of NAME in production; running services switch within seconds."""
    _run(_registry().promote(name, version))
    console.print(f"[green]promoted[/] {name} {version} to production")
    _announce_or_warn(name, version)


@models_cli.command()
@click.argument("name")
@click.argument("version", required=False)
def show(name: str, version: str | None) -> None:
    """Print a manifest: VERSION, else the production version, else the newest."""
    registry = _registry()

    async def find() -> ModelManifest:
        chosen = version or await registry.production_version(name)
        if chosen is None:
            versions = await registry.versions(name)
            if not versions:
                raise click.ClickException(f"no model named {name}")
            chosen = versions[-1]
        return await registry.manifest(name, chosen)

    manifest = _run(find())
    console.print(JSON(json.dumps(manifest.model_dump(mode="json"))))


@models_cli.command()
@click.argument("name")
@click.argument("version")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=256, show_default=True)
def backfill(name: str, version: str, batch_size: int) -> None:
    """Run VERSION of NAME over every record in records.deidentified (results next to the old).

    Reads the topic from its first offset to the end offsets seen at start, publishes
    records.inferred for this version only; re-running it changes nothing downstream.
    """
    from medshare_inference.backfill import backfill as run_backfill

    settings = _settings()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} records"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"Backfilling {name} {version}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = _run(run_backfill(settings, name, version, batch_size, report))
    table = Table(title=f"backfill {name} {version}")
    table.add_column("records")
    table.add_column("count", justify="right")
    for label, value in (
        ("read from records.deidentified", result.read),
        ("the model applies to", result.applicable),
        ("results published", result.published),
        ("  of which per-record errors", result.errors),
        ("duplicates skipped", result.duplicates),
        ("unreadable events skipped", result.unreadable),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for reason, count in sorted(result.error_reasons.items()):
        console.print(f"  {count} x {reason}")
    rate = result.read / result.seconds if result.seconds else 0.0
    console.print(f"done in {result.seconds:.1f} s ({rate:.0f} records/s)")
