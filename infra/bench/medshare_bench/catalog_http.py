"""`medshare bench catalog --via http`: the same query mix through the catalog's HTTP API.

Starts `medshare catalog serve` as a real process over the loaded database (its own
topic prefix and consumer group on the local Kafka, a fresh signing key), sets up
the benchmark researcher as an administrator would (project `bench`, member,
data-use agreements with the four institutions, role), and calls `/records` and
`/records/facets` with the researcher's bearer token, as the web page does: every
request is authenticated, scoped and audited.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from medshare_catalog.store.agreements import Directory
from medshare_catalog.store.principals import Principals
from medshare_catalog.tokens import TokenIssuer

Query = Callable[[], Awaitable[Any]]
USER, PROJECT = "bench-researcher", "bench"


async def seed_researcher(database: AsyncDatabase[dict[str, Any]], institutions: list[str]) -> None:
    directory = Directory(database)
    if await directory.project(PROJECT) is None:
        await directory.create_project(PROJECT, "catalog benchmark")
        for institution in institutions:
            await directory.grant(institution, PROJECT, purpose="benchmark", created_by="bench")
    await directory.add_member(PROJECT, USER)
    await Principals(database).grant_role(USER, "researcher", by="bench")


@asynccontextmanager
async def catalog_service(
    mongo_url: str, database: AsyncDatabase[dict[str, Any]], institutions: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog as a process over `database`, and a client holding the researcher's token."""
    from medshare_infra.processes import free_port
    from medshare_infra.services import ServiceProcess

    await seed_researcher(database, institutions)
    run = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as scratch:
        key = secrets.token_hex(32)
        key_file = Path(scratch) / "jwt.key"
        key_file.write_text(key)
        env = {
            "MEDSHARE_MONGO_URL": mongo_url,
            "MEDSHARE_MONGO_DB": database.name,
            "MEDSHARE_CATALOG_JWT_SECRET_FILE": str(key_file),
            "MEDSHARE_TOPIC_PREFIX": f"bench{run}.",
            "MEDSHARE_CONSUMER_GROUP": f"bench-catalog-{run}",
            "MEDSHARE_LOG_LEVEL": "WARNING",
        }
        service = ServiceProcess("catalog", free_port(), env, Path(scratch) / "catalog.log")
        service.start()
        try:
            await asyncio.to_thread(service.wait_ready, 120)
            token = TokenIssuer(key.encode()).issue(USER, "researcher", (PROJECT,))
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url=service.url, headers=headers, timeout=300, limits=httpx.Limits()
            ) as client:
                yield client
        finally:
            await asyncio.to_thread(service.stop)


def http_mix(client: httpx.AsyncClient, deep_cursor: str | None) -> dict[str, Query]:
    """The names and queries of `query_mix`, as URL parameters."""

    def get(path: str, **params: Any) -> Query:
        async def call() -> Any:
            response = await client.get(path, params={"limit": 50, **params})
            response.raise_for_status()
            return response.json()

        return call

    mix: dict[str, Query] = {
        "first page": get("/records"),
        "first page, exact total": get("/records", exact_total="true"),
        "modality+years": get("/records", modality="CT", year_from=2015, year_to=2020),
        "demographics": get("/records", age_band="60-69", sex="F", institution="hospital-01"),
        "diagnosis C50*": get("/records", diagnosis="C50*"),
        "p(malignant)>=0.8": get(
            "/records",
            model="breast-cancer-malignancy",
            output="malignancy_probability",
            output_min=0.8,
        ),
        "free text": get("/records", q="chest"),
        "facets (CT)": get("/records/facets", modality="CT"),
    }
    if deep_cursor:
        mix["page 20 (keyset)"] = get("/records", cursor=deep_cursor)
    return mix
