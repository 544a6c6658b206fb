"""`medshare catalog ...` commands."""

from __future__ import annotations

import click

from medshare_shared.log import configure_logging
from medshare_shared.settings import load_settings


@click.group()
def cli() -> None:
    """Catalog: what researchers search and download."""


@cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the catalog service (topic consumers and the HTTP API)."""
    from medshare_catalog.app import create_app
    from medshare_catalog.settings import CatalogSettings
    from medshare_shared.service import serve as run

    settings = load_settings(CatalogSettings)
    configure_logging("catalog", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)
