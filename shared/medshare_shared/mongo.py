"""MongoDB access through PyMongo's native async client, with journaled writes.

Every write is journaled (`j: true`): the server answers only once the write is in its
journal on disk, so a write that a consumer's offset commit follows survives the server's
kill -9 (or a power cut). Without it a write is acknowledged from memory: SecantusDB,
like mongod with `j: false`, then loses the last ~0.1 s of acknowledged writes when the
process dies. `w` comes from MEDSHARE_MONGO_WRITE_CONCERN_W ("majority" by default).
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from medshare_shared.settings import CommonSettings


def durable_writes(w: str = "majority") -> dict[str, Any]:
    """Client options for writes that carry the delivery guarantee (`w` as in the setting)."""
    return {"w": int(w) if w.isdigit() else w, "journal": True}


def mongo_client(settings: CommonSettings) -> AsyncMongoClient[dict[str, Any]]:
    # Short server selection so /readyz and start-up fail fast instead of hanging 30 s.
    return AsyncMongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=5_000,
        tz_aware=True,
        **durable_writes(settings.mongo_write_concern_w),
    )


def mongo_database(
    client: AsyncMongoClient[dict[str, Any]], settings: CommonSettings
) -> AsyncDatabase[dict[str, Any]]:
    return client[settings.mongo_db]


async def mongo_ping(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    await client.admin.command("ping")
    return True
