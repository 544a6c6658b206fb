"""`medshare anonymizer serve` and `medshare deid ...` commands.

Subcommands are imported only when run (see `medshare_shared.cli.LazyGroup`), so that
`medshare deid dicom` starts without the case-report detector or the service's stack.
"""

from __future__ import annotations

import click

from medshare_shared.cli import LazyGroup


@click.group()
def service_cli() -> None:
    """Anonymizer service: de-identifies every ingested record."""


@service_cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the anonymizer (records.ingested consumer, health and metrics over HTTP)."""
    from medshare_anonymizer.app import create_app
    from medshare_anonymizer.settings import AnonymizerSettings
    from medshare_shared.log import configure_logging
    from medshare_shared.service import serve as run
    from medshare_shared.settings import load_settings

    settings = load_settings(AnonymizerSettings)
    configure_logging("anonymizer", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)


@click.group(
    cls=LazyGroup,
    lazy={
        "dicom": ("medshare_anonymizer.dicom.cli:dicom",
                  "De-identify DICOM files under SRC into DST (PS3.15 Annex E)."),
        "case-reports": ("medshare_anonymizer.case_report.cli:report",
                         "De-identify case reports (JSON, FHIR) under SRC into DST."),
        # The command's earlier name.
        "report": ("medshare_anonymizer.case_report.cli:report",
                   "The same as case-reports (its earlier name)."),
        "evaluate-notes": ("medshare_anonymizer.case_report.evaluation:evaluate_notes",
                           "Recall and precision of the free-text detector on labelled notes."),
    },
)  # fmt: skip
def cli() -> None:
    """De-identify files on disk with the same engine the service uses."""
