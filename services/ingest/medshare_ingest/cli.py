"""`medshare ingest ...` commands."""

from __future__ import annotations

import click

from medshare_shared.log import configure_logging
from medshare_shared.settings import load_settings


@click.group()
def cli() -> None:
    """Ingest: the only door in."""


@cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the ingest service (HTTP doors and the records.submitted consumer)."""
    from medshare_ingest.app import create_app
    from medshare_ingest.settings import IngestSettings
    from medshare_shared.service import serve as run

    settings = load_settings(IngestSettings)
    configure_logging("ingest", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)
