"""`medshare deid dicom SRC DST`: de-identify DICOM files on disk with the service's engine.

Every DICOM file under SRC (a Part-10 file: "DICM" after the preamble, or a name
ending in .dcm/.dicom/.dic) is de-identified into DST at the same relative path; each
gets one line in ``DST/deid-report.jsonl`` (source, output, status ok|quarantined|
rejected, reason, action counts, verifier findings as attribute paths). Quarantined
and rejected files are not written. Exit code 0 when the run completed, whatever the
per-file outcomes; bad arguments (unknown option, no secret, SRC missing, DST inside
SRC) exit with 2.

The report and the mirrored names refer to source file names: if those can carry
identifiers, treat DST's names like the raw zone.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click

from medshare_anonymizer.dicom.options import OPTIONS, validate_options
from medshare_anonymizer.pseudonyms import PseudonymKeys

REPORT_NAME = "deid-report.jsonl"
MIN_SECRET_BYTES = 16
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})
# The service's default (MEDSHARE_ANONYMIZER_OPTIONS), so both give the same output.
DEFAULT_OPTIONS = "retain-long-modified-dates"


def is_dicom_file(path: Path) -> bool:
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def find_inputs(source: Path, destination: Path) -> list[Path]:
    """DICOM files under ``source`` (or ``source`` itself), never inside ``destination``."""
    if source.is_file():
        return [source]
    found = []
    for path in source.rglob("*"):
        if not path.is_file() or destination in path.parents:
            continue
        if is_dicom_file(path):
            found.append(path)
    return sorted(found)


def load_keys(secret_file: Path | None) -> PseudonymKeys:
    if secret_file is None:
        raise click.UsageError("give --secret-file or set MEDSHARE_ANONYMIZER_SECRET_FILE")
    from medshare_shared.settings import read_secret  # pydantic: only when run

    secret = read_secret("", secret_file)
    if len(secret) < MIN_SECRET_BYTES:
        raise click.BadParameter(
            f"at least {MIN_SECRET_BYTES} bytes needed", param_hint="--secret-file"
        )
    return PseudonymKeys(secret)


def chosen_options(names: tuple[str, ...], profile_only: bool) -> frozenset[str]:
    if profile_only and names:
        raise click.BadParameter("--profile-only takes no --option", param_hint="--option")
    if profile_only:
        return frozenset()
    if not names:
        configured = os.environ.get("MEDSHARE_ANONYMIZER_OPTIONS", DEFAULT_OPTIONS)
        names = tuple(name.strip() for name in configured.split(",") if name.strip())
    try:
        return validate_options(names)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--option") from None


# Per-process state for the worker pool (set once by the initializer).
_job: dict[str, Any] = {}


def _start_job(
    secret: bytes, institution: str, options: frozenset[str], src: Path, dst: Path
) -> None:
    _job.update(keys=PseudonymKeys(secret), institution=institution, options=options,
                src=src, dst=dst)  # fmt: skip


def deidentify_path(path: Path) -> dict[str, Any]:
    """De-identifies one file of the running job; returns its report line."""
    relative = path.relative_to(_job["src"]) if path != _job["src"] else Path(path.name)
    line: dict[str, Any] = {"source": str(relative), "output": None, "findings": []}
    try:
        data = path.read_bytes()
    except OSError as error:
        return {**line, "status": "rejected", "reason": f"unreadable ({type(error).__name__})",
                "actions": {}}  # fmt: skip
    from medshare_anonymizer.dicom.deidentifier import deidentify_dicom  # heavy: on use

    result = deidentify_dicom(data, _job["keys"], _job["institution"], _job["options"])
    if result.status == "ok" and result.output is not None:
        target = _job["dst"] / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.output)
        line["output"] = str(relative)
    return {**line, "status": result.status, "reason": result.reason, "actions": result.actions,
            "findings": result.findings}  # fmt: skip


def _ready(_: int) -> bool:
    return True


def _pool(workers: int, job: tuple[Any, ...]) -> ProcessPoolExecutor | None:
    """A started worker pool (None for one worker): the processes are forked here, before
    the progress bar starts its thread, so no lock is copied into a child while held."""
    if workers <= 1:
        _start_job(*job)
        return None
    pool = ProcessPoolExecutor(workers, initializer=_start_job, initargs=job)
    list(pool.map(_ready, range(workers)))
    return pool


def _run(inputs: list[Path], pool: ProcessPoolExecutor | None) -> Iterator[dict[str, Any]]:
    if pool is None:
        return map(deidentify_path, inputs)
    return pool.map(deidentify_path, inputs, chunksize=4)


@click.command("dicom")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--option", "option_names", multiple=True, metavar="NAME",
              help="Annex E option (repeatable): " + ", ".join(sorted(OPTIONS))
              + f". Default: MEDSHARE_ANONYMIZER_OPTIONS, else {DEFAULT_OPTIONS}.")  # fmt: skip
@click.option("--profile-only", is_flag=True,
              help="the Basic Profile alone, without any option")  # fmt: skip
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="MEDSHARE_ANONYMIZER_SECRET_FILE",
              help="HMAC key for pseudonyms, UIDs and date shifts")  # fmt: skip
@click.option("--institution", default="local", show_default=True,
              help="institution the files come from (part of every pseudonym)")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="processes working in parallel")  # fmt: skip
def dicom(src: Path, dst: Path, option_names: tuple[str, ...], profile_only: bool,
          secret_file: Path | None, institution: str, workers: int) -> None:  # fmt: skip
    """De-identify every DICOM file under SRC into DST (same relative paths)."""
    options = chosen_options(option_names, profile_only)
    keys = load_keys(secret_file)
    source, destination = src.resolve(), dst.resolve()
    if source.is_dir() and (destination == source or source in destination.parents):
        raise click.BadParameter("DST must not be inside SRC", param_hint="DST")
    inputs = find_inputs(source, destination)
    destination.mkdir(parents=True, exist_ok=True)
    job = (keys.secret, institution, options, source, destination)
    statuses: Counter[str] = Counter()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("de-identifying"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with contextlib.ExitStack() as stack:
        pool = _pool(min(workers, max(len(inputs), 1)), job)
        if pool is not None:
            stack.enter_context(pool)
        report = stack.enter_context((destination / REPORT_NAME).open("w", encoding="utf-8"))
        bar = stack.enter_context(Progress(*columns, console=Console(stderr=True)))
        task = bar.add_task("dicom", total=len(inputs))
        for line in _run(inputs, pool):
            report.write(json.dumps(line, sort_keys=True) + "\n")
            statuses[line["status"]] += 1
            bar.advance(task)
    summary = ", ".join(f"{statuses[s]} {s}" for s in ("ok", "quarantined", "rejected"))
    click.echo(f"{len(inputs)} DICOM files: {summary}; report in {destination / REPORT_NAME}")
