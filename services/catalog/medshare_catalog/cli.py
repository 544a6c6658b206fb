"""`medshare catalog ...` commands: the service, tokens, projects and data-use agreements.

Project and agreement commands talk to MongoDB directly (MEDSHARE_MONGO_URL,
MEDSHARE_MONGO_DB), so a deployment can be set up before anyone holds a token.
`token` signs with the key from MEDSHARE_CATALOG_JWT_SECRET(_FILE).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import click

from medshare_shared.log import configure_logging
from medshare_shared.settings import SettingsError, load_settings

T = TypeVar("T")


def _settings() -> Any:
    from medshare_catalog.settings import CatalogSettings

    try:
        return load_settings(CatalogSettings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _with_directory(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(directory)` against the configured database, reporting refusals cleanly."""
    from medshare_catalog.directory import Directory, DirectoryError
    from medshare_shared.mongo import mongo_client, mongo_database

    settings = _settings()

    async def run() -> T:
        client = mongo_client(settings)
        try:
            directory = Directory(mongo_database(client, settings))
            await directory.ensure_indexes()
            return await work(directory)
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except DirectoryError as error:
        raise click.ClickException(str(error)) from None


def _duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.lstrip("-").isdigit():
        raise click.BadParameter("use a number with s, m, h or d (e.g. 8h)")
    return timedelta(seconds=int(number) * units[unit])


@click.group()
def cli() -> None:
    """Catalog: what researchers search and download."""


@cli.command()
@click.option("--port", type=int, default=None, help="HTTP port (default MEDSHARE_HTTP_PORT)")
def serve(port: int | None) -> None:
    """Run the catalog service (topic consumers, the HTTP API and the web page)."""
    from medshare_catalog.app import create_app
    from medshare_shared.service import serve as run

    settings = _settings()
    configure_logging("catalog", settings.log_level)
    run(create_app(settings), settings.http_host, port or settings.http_port)


@cli.command()
@click.option("--user", required=True, help="who the token is for")
@click.option(
    "--role", required=True, type=click.Choice(["researcher", "steward", "admin"]), help="role"
)
@click.option("--project", "projects", multiple=True, help="limit to these projects (repeatable)")
@click.option("--ttl", default=None, help="lifetime, e.g. 30m, 8h, 7d (default from settings)")
def token(user: str, role: str, projects: tuple[str, ...], ttl: str | None) -> None:
    """Print a signed bearer token (HS256)."""
    from medshare_catalog.tokens import Role, TokenIssuer

    settings = _settings()
    try:
        key = settings.jwt_key()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    lifetime = _duration(ttl) if ttl else timedelta(seconds=settings.catalog_token_ttl_s)
    click.echo(TokenIssuer(key).issue(user, cast(Role, role), projects, lifetime))


@cli.command()
def rederive() -> None:
    """Recompute every record's search fields and release state (after changing gates)."""
    from medshare_catalog.records import RecordStore
    from medshare_shared.mongo import mongo_client, mongo_database

    settings = _settings()

    async def run() -> int:
        client = mongo_client(settings)
        try:
            store = RecordStore(
                mongo_database(client, settings)[settings.records_collection],
                gates=settings.release_gates,
                require_gate_verdict=settings.catalog_require_gate_verdict,
            )
            return await store.rederive_all()
        finally:
            await client.close()

    click.echo(f"{asyncio.run(run())} records re-derived")


@cli.group()
def projects() -> None:
    """Research projects, their members and data-use agreements."""


def _show(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@projects.command("list")
def list_projects() -> None:
    """Projects with members and agreements (JSON)."""

    async def work(directory: Any) -> list[dict[str, Any]]:
        agreements = await directory.list_agreements()
        return [
            {**p, "agreements": [a for a in agreements if a["project"] == p["_id"]]}
            for p in await directory.list_projects()
        ]

    _show(_with_directory(work))


@projects.command("create")
@click.argument("project")
@click.option("--title", default="", help="human-readable title")
def create_project(project: str, title: str) -> None:
    """Create a project."""
    _with_directory(lambda d: d.create_project(project, title))
    click.echo(f"project {project} created")


@projects.command("add-member")
@click.argument("project")
@click.argument("users", nargs=-1, required=True)
def add_member(project: str, users: tuple[str, ...]) -> None:
    """Add users to a project."""

    async def work(directory: Any) -> None:
        for user in users:
            await directory.add_member(project, user)

    _with_directory(work)
    click.echo(f"{len(users)} member(s) added to {project}")


@projects.command("remove-member")
@click.argument("project")
@click.argument("user")
def remove_member(project: str, user: str) -> None:
    """Remove a user from a project."""
    _with_directory(lambda d: d.remove_member(project, user))
    click.echo(f"{user} removed from {project}")


@projects.command("grant")
@click.argument("project")
@click.option("--institution", required=True, help="the institution sharing its records")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(["dicom", "case_report"]), help="only these"
)
@click.option("--until", default=None, help="last day of the agreement (YYYY-MM-DD)")
@click.option("--purpose", default="", help="what the data may be used for")
def grant(
    project: str, institution: str, kinds: tuple[str, ...], until: str | None, purpose: str
) -> None:
    """Record a data-use agreement: INSTITUTION shares with PROJECT."""
    valid_until = None
    if until:
        try:
            day = datetime.strptime(until, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--until") from None
        valid_until = day + timedelta(days=1)
    agreement = _with_directory(
        lambda d: d.grant(institution, project, kinds, valid_until, purpose, "cli")
    )
    click.echo(f"agreement {agreement['_id']}: {institution} shares with {project}")


@projects.command("revoke")
@click.argument("agreement_id")
def revoke(agreement_id: str) -> None:
    """End a data-use agreement now."""
    _with_directory(lambda d: d.revoke(agreement_id))
    click.echo(f"agreement {agreement_id} revoked")
