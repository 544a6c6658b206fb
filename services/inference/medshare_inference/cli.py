"""`medshare inference serve` and `medshare models ...` commands."""

from __future__ import annotations

import click

from medshare_inference.model_cli import models_cli
from medshare_shared.log import configure_logging
from medshare_shared.settings import load_settings

__all__ = ["models_cli", "service_cli"]


@click.group()
def service_cli() -> None:
    """Inference service: runs the production models on de-identified records."""


@service_cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the inference service (micro-batching consumer, health and metrics over HTTP)."""
    from medshare_inference.app import create_app
    from medshare_inference.settings import InferenceSettings
    from medshare_shared.service import serve as run

    settings = load_settings(InferenceSettings)
    configure_logging("inference", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)
