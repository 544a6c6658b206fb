"""`medshare anonymizer serve` and `medshare deid ...` commands."""

from __future__ import annotations

import click

from medshare_shared.log import configure_logging
from medshare_shared.settings import load_settings


@click.group()
def service_cli() -> None:
    """Anonymizer service: de-identifies every ingested record."""


@service_cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the anonymizer (records.ingested consumer, health and metrics over HTTP)."""
    from medshare_anonymizer.app import create_app
    from medshare_anonymizer.settings import AnonymizerSettings
    from medshare_shared.service import serve as run

    settings = load_settings(AnonymizerSettings)
    configure_logging("anonymizer", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)


@click.group()
def cli() -> None:
    """De-identify files on disk with the same engine the service uses."""


def _register_case_report_commands() -> None:
    from medshare_anonymizer.notes_eval import evaluate_notes
    from medshare_anonymizer.report_cli import report

    cli.add_command(evaluate_notes)
    cli.add_command(report)


_register_case_report_commands()


def _register_dicom_commands() -> None:
    from medshare_anonymizer.dicom_cli import dicom

    cli.add_command(dicom)


_register_dicom_commands()
