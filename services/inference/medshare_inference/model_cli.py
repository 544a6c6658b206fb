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
from medshare_inference.registry import ModelRegistry, RegistryError
from medshare_shared.object_store import ObjectStore
from medshare_shared.settings import CommonSettings, SettingsError, load_settings

T = TypeVar("T")
console = Console()


def _registry() -> ModelRegistry:
    try:
        settings = load_settings(CommonSettings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    return ModelRegistry(ObjectStore.from_settings(settings), settings.models_bucket)


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
def train(name: str, seed: int, version: str | None, promote: bool | None) -> None:
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
        TextColumn("{task.completed}/{task.total} epochs"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"Training {name} {chosen}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        trained = train_model(name, seed=seed, version=chosen, progress=report)
    console.print(_metrics_table(trained.manifest, trained.seconds))
    with console.status("Registering"):
        manifest = _run(registry.register(name, chosen, trained.module, trained.manifest))
    console.print(f"registered {name} {chosen} sha256={manifest.sha256[:16]}…")
    if promote or (promote is None and current is None):
        _run(registry.promote(name, chosen))
        console.print(f"[green]promoted[/] {name} {chosen} to production")
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
    """Serve VERSION of NAME in production (running services pick it up on reload)."""
    _run(_registry().promote(name, version))
    console.print(f"[green]promoted[/] {name} {version} to production")


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
