"""`medshare deid case-reports SRC DST`: de-identify case-report files with the service's engine.

SRC is a JSON case report or FHIR R4 Bundle, or a folder searched recursively for
``*.json``. Each released result is written to DST under a name derived from the
content hash (a source file name may itself carry a patient's name), and every input
gets one line in ``DST/deid-report.jsonl``: source, output, status, reason, action counts.
Each file first passes the ingest door's input contract (`CaseReport`, or a FHIR R4
Bundle mapped by `medshare_shared.fhir`, the same shared code the door calls); a file
that fails it is `rejected` with the reason. The size limit of the door is not applied.
The exit code is 0 when the run completed, whatever the per-file outcomes; bad
arguments (missing secret, no inputs, DST inside SRC) exit non-zero.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.settings import read_secret

REPORT_NAME = "deid-report.jsonl"
MIN_SECRET_BYTES = 16


def find_inputs(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(path for path in source.rglob("*.json") if path.is_file())


def content_type_of(data: bytes) -> str:
    """FHIR Bundles and project case reports are both JSON; the resourceType tells them apart."""
    try:
        document = json.loads(data)
    except ValueError:
        return "application/json"
    if isinstance(document, dict) and "resourceType" in document:
        return "application/fhir+json"
    return "application/json"


def load_keys(secret_file: Path | None) -> PseudonymKeys:
    if secret_file is None:
        raise click.UsageError("give --secret-file or set MEDSHARE_ANONYMIZER_SECRET_FILE")
    secret = read_secret("", secret_file)
    if len(secret) < MIN_SECRET_BYTES:
        needed = f"at least {MIN_SECRET_BYTES} bytes needed"
        raise click.BadParameter(needed, param_hint="--secret-file")
    return PseudonymKeys(secret)


def deidentify_file(
    deidentifier: Deidentifier, path: Path, destination: Path, institution: str
) -> dict[str, Any]:
    """De-identifies one file; returns its report line."""
    line: dict[str, Any] = {"source": str(path), "output": None}
    try:
        data = path.read_bytes()
    except OSError as error:
        return {**line, "status": "rejected", "reason": f"unreadable ({type(error).__name__})",
                "actions": {}}  # fmt: skip
    outcome = deidentifier.run("case_report", content_type_of(data), data, institution)
    if outcome.status == "ok" and outcome.output is not None:
        name = hashlib.sha256(data).hexdigest()[:20] + ".json"
        (destination / name).write_bytes(outcome.output)
        line["output"] = name
    return {**line, "status": outcome.status, "reason": outcome.reason,
            "actions": outcome.actions}  # fmt: skip


@click.command("case-reports")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="MEDSHARE_ANONYMIZER_SECRET_FILE",
              help="HMAC key for pseudonyms and date shifts")  # fmt: skip
@click.option("--institution", default="local", show_default=True,
              help="institution the records come from (part of every pseudonym)")  # fmt: skip
@click.option("--date-mode", type=click.Choice(["year", "shift"]), default="shift",
              envvar="MEDSHARE_CASE_REPORT_DATE_MODE", show_default=True)  # fmt: skip
def report(
    src: Path, dst: Path, secret_file: Path | None, institution: str, date_mode: str
) -> None:
    """De-identify case-report JSON files or FHIR Bundles (a file or a folder) into DST."""
    keys = load_keys(secret_file)
    source, destination = src.resolve(), dst.resolve()
    if source.is_dir() and (destination == source or source in destination.parents):
        raise click.BadParameter("DST must not be inside SRC", param_hint="DST")
    inputs = find_inputs(source)
    if not inputs:
        raise click.BadParameter("no .json files found", param_hint="SRC")
    destination.mkdir(parents=True, exist_ok=True)
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset(),
                                case_report_date_mode=date_mode)  # type: ignore[arg-type]  # fmt: skip
    statuses: Counter[str] = Counter()
    console = Console(stderr=True)
    columns = (TextColumn("de-identifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        (destination / REPORT_NAME).open("w") as journal,
        Progress(*columns, console=console) as bar,
    ):
        task = bar.add_task("reports", total=len(inputs))
        for path in inputs:
            line = deidentify_file(deidentifier, path, destination, institution)
            journal.write(json.dumps(line, sort_keys=True) + "\n")
            statuses[line["status"]] += 1
            bar.advance(task)
    summary = ", ".join(f"{statuses[s]} {s}" for s in ("ok", "quarantined", "rejected"))
    click.echo(f"{len(inputs)} case reports: {summary}; report in {destination / REPORT_NAME}")
