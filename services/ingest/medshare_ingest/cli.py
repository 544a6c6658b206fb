"""`medshare ingest ...`: run the service, or import files in bulk.

`medshare ingest serve` runs the service; `medshare ingest PATH...` imports files.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from medshare_shared.log import configure_logging
from medshare_shared.settings import load_settings


class ServeOrImport(click.Group):
    """Subcommands as usual; anything else is a path to import."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return "import", self.commands["import"], args
        return super().resolve_command(ctx, args)


@click.group(cls=ServeOrImport)
def cli() -> None:
    """Ingest: the only door in. `medshare ingest PATH...` imports files."""


@cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the ingest service (HTTP doors, C-STORE SCP, the records.submitted consumer)."""
    from medshare_ingest.app import create_app
    from medshare_ingest.settings import IngestSettings
    from medshare_shared.service import serve as run

    settings = load_settings(IngestSettings)
    configure_logging("ingest", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--institution", default="demo-hospital", show_default=True)
@click.option("--via", type=click.Choice(["http", "kafka"]), default="http", show_default=True)
@click.option("--url", default="http://127.0.0.1:8081", show_default=True, help="ingest URL")
@click.option("--api-key", envvar="MEDSHARE_INGEST_API_KEY", default=None)
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--journal",
    type=click.Path(path_type=Path),
    default=Path(".medshare-import.journal"),
    show_default=True,
    help="accepted files are recorded here so a rerun resumes",
)
def import_files(
    paths: tuple[Path, ...],
    institution: str,
    via: Literal["http", "kafka"],
    url: str,
    api_key: str | None,
    concurrency: int,
    journal: Path,
) -> None:
    """Send every DICOM file, JSON case report and FHIR Bundle under PATHS."""
    from medshare_ingest.importer import (
        HttpSender,
        ImportSummary,
        Journal,
        KafkaSender,
        classify,
        run_import,
        walk,
    )
    from medshare_shared.settings import CommonSettings

    console = Console()
    items = [item for path in walk(paths) if (item := classify(path)) is not None]
    sender: HttpSender | KafkaSender
    if via == "kafka":
        settings = load_settings(CommonSettings)
        sender = KafkaSender(settings.kafka_bootstrap, settings.topics.submitted, institution)
    else:
        sender = HttpSender(url, institution, api_key)
    columns = (
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=len(items), status="", rate="")

        def on_done(outcome: str, summary: ImportSummary) -> None:
            progress.advance(task)
            speed = progress.tasks[0].speed or 0.0
            progress.update(
                task,
                rate=f"{speed:5.1f} files/s",
                status=f"ok={summary.accepted} dup={summary.duplicate} "
                f"skip={summary.skipped} refused={summary.refused} failed={summary.failed}",
            )

        summary = asyncio.run(run_import(items, sender, Journal(journal), concurrency, on_done))
    table = Table(title=f"import of {len(items)} files via {via}")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    for outcome in ("accepted", "duplicate", "skipped", "refused", "failed"):
        table.add_row(outcome, str(getattr(summary, outcome)))
    console.print(table)
    for reason, count in summary.reasons.most_common(10):
        console.print(f"  {count} x {reason}")
    if summary.failed:
        raise SystemExit(1)
