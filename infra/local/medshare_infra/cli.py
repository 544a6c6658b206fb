"""`medshare infra up|down|status|logs|env`: the local servers without Docker."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from medshare_infra.stack import PROFILES, LocalStack

console = Console()
profile_option = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="dev",
    show_default=True,
    help="dev: default ports; test: the test suite's own ports and data",
)


@click.group()
def cli() -> None:
    """Local Kafka (KRaft), SeaweedFS (S3) and SecantusDB (MongoDB wire) on 127.0.0.1."""


@cli.command()
@profile_option
def up(profile: str) -> None:
    """Start the servers that are not running (first run downloads them into the cache)."""
    stack = LocalStack.for_profile(profile)
    started_at = time.monotonic()
    with console.status("starting servers (the first run downloads Kafka and the tools)"):
        started = stack.up()
    elapsed = time.monotonic() - started_at
    console.print(
        f"started: {', '.join(started) or 'nothing, all were up'} ({elapsed:.1f}s); "
        f"data in {stack.data_dir}"
    )
    _print_status(stack)
    console.print("environment for the services:  eval $(medshare infra env)")


@cli.command()
@profile_option
def down(profile: str) -> None:
    """Stop the servers (their data stays)."""
    stack = LocalStack.for_profile(profile)
    stopped = stack.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@cli.command()
@profile_option
def status(profile: str) -> None:
    """Which servers are up, where, and how much memory they use."""
    stack = LocalStack.for_profile(profile)
    if not _print_status(stack):
        raise SystemExit(3)


@cli.command()
@profile_option
@click.argument("server", required=False, type=click.Choice(["kafka", "seaweedfs", "mongo"]))
@click.option("-n", "--lines", default=40, show_default=True)
def logs(profile: str, server: str | None, lines: int) -> None:
    """The last lines of each server's log."""
    stack = LocalStack.for_profile(profile)
    for name, path in stack.log_files().items():
        if server and name != server:
            continue
        console.rule(f"{name}: {path}")
        text = path.read_text(errors="replace") if path.exists() else "(no log yet)"
        console.print("\n".join(text.splitlines()[-lines:]), markup=False, highlight=False)


@cli.command()
@profile_option
@click.option(
    "--service",
    type=click.Choice(["ingest", "anonymizer", "inference", "catalog"]),
    help="that service's own credentials (default: the admin's)",
)
def env(profile: str, service: str | None) -> None:
    """Print `export MEDSHARE_...` lines pointing the services at these servers."""
    stack = LocalStack.for_profile(profile)
    for key, value in stack.env(service).items():
        click.echo(f"export {key}={value}")


def _print_status(stack: LocalStack) -> bool:
    table = Table(title=f"local servers ({stack.profile})")
    for column in ("server", "address", "pid", "state", "memory"):
        table.add_column(column)
    all_up = True
    for entry in stack.status():
        all_up &= entry.up
        state = "[green]up" if entry.up else ("[yellow]not answering" if entry.pid else "[red]down")
        memory = f"{entry.rss_bytes / 2**20:.0f} MiB" if entry.rss_bytes else "-"
        table.add_row(entry.name, entry.address, str(entry.pid or "-"), state, memory)
    console.print(table)
    return all_up
