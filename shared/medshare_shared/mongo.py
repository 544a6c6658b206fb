"""MongoDB access through PyMongo's native async client."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from medshare_shared.settings import CommonSettings


def mongo_client(settings: CommonSettings) -> AsyncMongoClient[dict[str, Any]]:
    # Short server selection so /readyz and start-up fail fast instead of hanging 30 s.
    return AsyncMongoClient(settings.mongo_url, serverSelectionTimeoutMS=5_000, tz_aware=True)


def mongo_database(
    client: AsyncMongoClient[dict[str, Any]], settings: CommonSettings
) -> AsyncDatabase[dict[str, Any]]:
    return client[settings.mongo_db]


async def mongo_ping(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    await client.admin.command("ping")
    return True
