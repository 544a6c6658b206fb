"""`medshare demo`: the whole pipeline on this machine, with sample data.

Starts the local servers and the four services, trains the case-report model if
the registry has none, pushes the sample DICOM files and case reports through
HTTP ingest with a progress bar, sets up a researcher (a project, a data-use
agreement with the demo hospital, the role), shows what the catalog holds and what
was withheld and why, prints an admin and a researcher token, and on Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medshare_infra.samples import sample_case_reports, sample_dicom_files
from medshare_infra.services import SERVICE_NAMES, ServiceProcess

console = Console()
DEMO_PORTS = {"ingest": 8081, "anonymizer": 8082, "inference": 8083, "catalog": 8084}
INSTITUTION = "demo-hospital"
PROJECT = "demo-research"
RESEARCHER = "demo-researcher"


def demo_secret(data_dir: Path) -> Path:
    path = data_dir / "secrets" / "anonymizer.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path


def catalog_key(data_dir: Path) -> Path:
    """The catalog's token-signing key for this machine's demo (kept out of the repository)."""
    path = data_dir / "secrets" / "catalog_jwt.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path


def _catalog(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`medshare catalog ARGS` (a process: infra never imports the services)."""
    command = [sys.executable, "-m", "medshare_shared", "catalog", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def catalog_token(env: dict[str, str]) -> str:
    """An admin bearer token for the demo's catalog (`medshare catalog token`)."""
    done = _catalog(env, "token", "--user", "demo-admin", "--role", "admin", "--ttl", "1d")
    done.check_returncode()  # the admin cap is 1 day
    return done.stdout.strip()


def researcher_access(env: dict[str, str]) -> str:
    """A project, its data-use agreement with the demo hospital, a member; their token.

    What an administrator does for a real researcher (docs/security.md); kept
    across demo runs, so only a first run creates the project and the agreement.
    """
    created = _catalog(env, "projects", "create", PROJECT, "--title", "medshare demo research")
    if created.returncode == 0:
        _catalog(env, "projects", "add-member", PROJECT, RESEARCHER).check_returncode()
        _catalog(env, "projects", "grant", PROJECT, "--institution", INSTITUTION).check_returncode()
    elif "exists already" not in created.stderr + created.stdout:
        created.check_returncode()
    done = _catalog(
        env, "token", "--user", RESEARCHER, "--role", "researcher", "--project", PROJECT,
        "--ttl", "8h",
    )  # fmt: skip
    done.check_returncode()
    return done.stdout.strip()


def ensure_model(env: dict[str, str], name: str) -> None:
    medshare = [sys.executable, "-m", "medshare_shared", "models"]
    shown = subprocess.run([*medshare, "show", name], env=env, capture_output=True)
    if shown.returncode != 0:
        with console.status(f"training {name} (first run only)"):
            subprocess.run([*medshare, "train", name], env=env, check=True, capture_output=True)


def push_samples(ingest_url: str, case_reports: int) -> dict[str, int]:
    files = sample_dicom_files()
    reports = sample_case_reports(case_reports)
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    headers = {"X-Institution": INSTITUTION}
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress, httpx.Client(timeout=30) as client:
        task = progress.add_task("ingesting", total=len(files) + len(reports), status="")
        for path in files:
            answer = client.post(
                f"{ingest_url}/instances",
                content=path.read_bytes(),
                headers={**headers, "Content-Type": "application/dicom"},
            )
            _count(counts, answer)
            progress.update(task, advance=1, status=_status(counts))
        for report in reports:
            answer = client.post(f"{ingest_url}/case-reports", json=report, headers=headers)
            _count(counts, answer)
            progress.update(task, advance=1, status=_status(counts))
    return counts


def _count(counts: dict[str, int], answer: httpx.Response) -> None:
    if answer.status_code == 202:
        counts["accepted"] += 1
    elif answer.status_code == 200:
        counts["duplicate"] += 1
    else:
        counts["refused"] += 1


def _status(counts: dict[str, int]) -> str:
    return " ".join(f"{key}={value}" for key, value in counts.items())


def wait_for_catalog(
    catalog_url: str, expected: int, token: str, timeout_s: float = 120
) -> dict[str, object]:
    """Wait until the catalog has settled (count stops growing or reaches the expectation)."""
    deadline, last, stable_since = time.monotonic() + timeout_s, -1, time.monotonic()
    listing: dict[str, object] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with console.status("waiting for the catalog"):
        while time.monotonic() < deadline:
            listing = httpx.get(
                f"{catalog_url}/records", params={"limit": 500}, headers=headers, timeout=10
            ).json()
            total = int(listing["total"])  # type: ignore[call-overload]
            if total != last:
                last, stable_since = total, time.monotonic()
            if total >= expected or time.monotonic() - stable_since > 15:
                break
            time.sleep(1)
    return listing


def withheld_reasons(items: list[dict[str, object]], width: int = 90) -> list[tuple[str, int]]:
    """Why records were withheld, grouped: details in parentheses dropped, one line each."""
    groups: dict[str, int] = {}
    for item in items:
        release = item.get("release")
        reason = str(release.get("reason") if isinstance(release, dict) else None)
        line = re.sub(r"\s*\([^)]*\)", "", reason.splitlines()[0] if reason else "")
        line = re.sub(r"\s+", " ", line).strip() or "no reason given"
        if len(line) > width:
            line = line[: width - 1] + "…"
        groups[line] = groups.get(line, 0) + 1
    return sorted(groups.items(), key=lambda pair: (-pair[1], pair[0]))


def review_queue(catalog_url: str, token: str) -> dict[str, object]:
    """What stewards see as withheld (quarantined records are not listed in /records)."""
    answer = httpx.get(
        f"{catalog_url}/review/queue",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    queue: dict[str, object] = answer.json()
    return queue


def summarise(
    listing: dict[str, object],
    counts: dict[str, int],
    urls: dict[str, str],
    token: str,
    withheld: dict[str, object] | None = None,
    researcher_token: str | None = None,
) -> None:
    items: list[dict[str, object]] = listing.get("items", [])  # type: ignore[assignment]
    table = Table(title=f"catalog: {listing.get('total')} records")
    for column in ("kind", "release", "count"):
        table.add_column(column)
    tally: dict[tuple[str, str], int] = {}
    for item in items:
        release = item.get("release")
        state = release.get("state") if isinstance(release, dict) else None
        key = (str(item.get("kind")), str(state))
        tally[key] = tally.get(key, 0) + 1
    for (kind, state), count in sorted(tally.items()):
        table.add_row(kind, state, str(count))
    console.print(table)
    console.print(f"ingest answers: {json.dumps(counts)}")
    if withheld is not None:
        held: list[dict[str, object]] = withheld.get("items", [])  # type: ignore[assignment]
        console.print(
            f"withheld (quarantined or flagged, awaiting a steward): {withheld.get('total')}"
        )
        for reason, count in withheld_reasons(held):
            console.print(f"  {count:>4}  {reason}")
        console.print("  (see each one, and release or reject it: web page, Review queue tab)")
    for name, url in urls.items():
        console.print(f"  {name:<10} {url}")
    console.print(f"  records    {urls['catalog']}/records   (API docs: {urls['catalog']}/docs)")
    console.print(f"  web page   {urls['catalog']}/ui/   sign in with one of these tokens:")
    # Tokens on one line each, never wrapped: they are pasted whole.
    console.print(f"admin (steward's review queue too): {token}", soft_wrap=True, crop=False)
    if researcher_token:
        console.print(
            f"researcher ({RESEARCHER}, project {PROJECT}): {researcher_token}",
            soft_wrap=True,
            crop=False,
        )
    console.print("Walk-through: README.md, section 'The demo, as a researcher and a steward'.")
    console.print("Ctrl-C stops the services and the servers this demo started.")


@click.command()
@click.option("--case-reports", default=40, show_default=True, help="sample case reports to send")
def demo(case_reports: int) -> None:
    """Run the whole pipeline locally and push sample data through it."""
    from medshare_infra.stack import LocalStack

    stack = LocalStack.for_profile("demo")
    with console.status("starting Kafka, S3 and MongoDB-wire servers"):
        started = stack.up()
    env = {
        **os.environ,
        **stack.env(),
        "MEDSHARE_ANONYMIZER_SECRET_FILE": str(demo_secret(stack.data_dir)),
        "MEDSHARE_CATALOG_JWT_SECRET_FILE": str(catalog_key(stack.data_dir)),
    }
    services = {
        # Each service with its own S3 identity: only its own bucket grants.
        name: ServiceProcess(
            name,
            DEMO_PORTS[name],
            {**env, **stack.env(name)},
            stack.data_dir / "logs" / f"{name}.log",
        )
        for name in SERVICE_NAMES
    }
    try:
        ensure_model(env, "breast-cancer-malignancy")
        with console.status("starting ingest, anonymizer, inference, catalog"):
            for service in services.values():
                service.start()
            for service in services.values():
                service.wait_ready(120)
        counts = push_samples(services["ingest"].url, case_reports)
        token = catalog_token(env)
        researcher = researcher_access(env)
        listing = wait_for_catalog(
            services["catalog"].url, counts["accepted"] + counts["duplicate"], token
        )
        withheld = review_queue(services["catalog"].url, token)
        urls = {name: s.url for name, s in services.items()}
        summarise(listing, counts, urls, token, withheld, researcher)
        while all(service.is_running() for service in services.values()):
            time.sleep(1)
        console.print(f"[red]a service stopped; see its log under {stack.data_dir / 'logs'}")
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for service in services.values():
            service.stop()
        stack.down(started)
