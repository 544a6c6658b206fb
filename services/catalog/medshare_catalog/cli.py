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
    from medshare_catalog.store.agreements import Directory, DirectoryError
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


def _with_database(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(database)` against the configured database."""
    from medshare_catalog.store.principals import PrincipalError
    from medshare_shared.mongo import mongo_client, mongo_database

    settings = _settings()

    async def run() -> T:
        client = mongo_client(settings)
        try:
            return await work(mongo_database(client, settings))
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except PrincipalError as error:
        raise click.ClickException(str(error)) from None


def _principals(work: Callable[[Any], Awaitable[T]]) -> T:
    from medshare_catalog.store.principals import Principals

    return _with_database(lambda database: work(Principals(database)))


@cli.group(invoke_without_command=True)
@click.option("--user", default=None, help="who the token is for")
@click.option(
    "--role", default=None, type=click.Choice(["researcher", "steward", "admin"]), help="role"
)
@click.option("--project", "projects", multiple=True, help="limit to these projects (repeatable)")
@click.option("--ttl", default=None, help="lifetime, e.g. 30m, 8h, 7d (default from settings)")
@click.pass_context
def token(
    context: click.Context, user: str | None, role: str | None, projects: tuple[str, ...],
    ttl: str | None,
) -> None:  # fmt: skip
    """Print a signed bearer token (HS256) and grant its role to the user in the directory.

    The token id (jti) goes to stderr: `medshare catalog token revoke JTI` ends it.
    """
    if context.invoked_subcommand is not None:
        return
    if not user or not role:
        raise click.UsageError("--user and --role are required to issue a token")
    import jwt

    from medshare_catalog.tokens import Role, TokenIssuer, max_ttls

    settings = _settings()
    try:
        key = settings.jwt_key()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    lifetime = _duration(ttl) if ttl else timedelta(seconds=settings.catalog_token_ttl_s)
    caps = max_ttls(settings.catalog_token_max_ttl_s, settings.catalog_admin_token_max_ttl_s)
    issuer = TokenIssuer(key, caps)
    try:
        signed = issuer.issue(user, cast(Role, role), projects, lifetime)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    _principals(lambda p: p.grant_role(user, cast(Role, role), "cli"))
    click.echo(signed)
    claims = jwt.decode(signed, options={"verify_signature": False})  # just signed here
    click.echo(f"token id: {claims['jti']}", err=True)


@token.command("revoke")
@click.argument("token_id")
def revoke_token(token_id: str) -> None:
    """Put a token id (jti) on the deny list: the token is refused from the next request."""
    _principals(lambda p: p.revoke_token(token_id, "cli"))
    click.echo(f"token {token_id} revoked")


@cli.group()
def roles() -> None:
    """Roles held by users (looked up on every request)."""


@roles.command("grant")
@click.argument("user")
@click.argument("role", type=click.Choice(["researcher", "steward", "admin"]))
def grant_role(user: str, role: str) -> None:
    """Grant ROLE to USER."""
    _principals(lambda p: p.grant_role(user, role, "cli"))
    click.echo(f"{user} holds role {role}")


@roles.command("remove")
@click.argument("user")
@click.argument("role", type=click.Choice(["researcher", "steward", "admin"]))
def remove_role(user: str, role: str) -> None:
    """Withdraw ROLE from USER (their tokens for it stop working now)."""
    _principals(lambda p: p.remove_role(user, role, "cli"))
    click.echo(f"{user} no longer holds role {role}")


@roles.command("list")
def list_roles() -> None:
    """Users and their roles (JSON)."""
    _show(_principals(lambda p: p.list()))


@cli.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def verify_audit() -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken entry."""
    from medshare_catalog.store.audit import AuditLog

    report = _with_database(lambda database: AuditLog(database["audit"]).verify())
    if not report.intact:
        raise click.ClickException(
            f"audit chain broken at entry {report.broken_at}: {report.reason} "
            f"({report.entries} entries before it intact)"
        )
    click.echo(f"audit chain intact: {report.entries} entries")


@cli.command()
def rederive() -> None:
    """Recompute every record's search fields, release state and the facet read model.

    In bulk (batches of bulk writes), with a progress bar. Run it with the catalog
    stopped: after changing gates or rules, or to build `records_facets` for records
    folded before it existed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from medshare_catalog.store.records import RecordStore
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
            total = await store.collection.estimated_document_count()
            columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress("[bold]re-deriving", *columns) as bar:
                task = bar.add_task("rederive", total=total)
                return await store.rederive_all(lambda done: bar.update(task, completed=done))
        finally:
            await client.close()

    click.echo(f"{asyncio.run(run())} records re-derived, facet read model rebuilt")


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
