"""Who holds which role, and which tokens are revoked: looked up on every request.

A token names its subject and the role it acts as; the role counts only while the
directory still grants it to that subject, so removing a role takes effect on the
next request. A revoked token id (`jti`) stays on the deny list until the token
would have expired anyway.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from medshare_catalog.store.record import Document
from medshare_catalog.tokens import ROLES, Principal, Role


class PrincipalError(ValueError):
    """A role or revocation request that cannot be done; the message says why."""


class Principals:
    def __init__(self, database: AsyncDatabase[Document]):
        self.users = database["principals"]
        self.revoked = database["revoked_tokens"]

    async def ensure_indexes(self) -> None:
        """Both collections are read by `_id` only."""

    async def grant_role(self, user: str, role: Role, by: str = "") -> None:
        if role not in ROLES:
            raise PrincipalError(f"unknown role; expected one of {', '.join(ROLES)}")
        await self.users.update_one(
            {"_id": user},
            {"$addToSet": {"roles": role}, "$set": {"updated_at": datetime.now(UTC), "by": by}},
            upsert=True,
        )

    async def remove_role(self, user: str, role: Role, by: str = "") -> None:
        result = await self.users.update_one(
            {"_id": user, "roles": role},
            {"$pull": {"roles": role}, "$set": {"updated_at": datetime.now(UTC), "by": by}},
        )
        if result.matched_count == 0:
            raise PrincipalError(f"{user} does not hold role {role}")

    async def roles(self, user: str) -> list[str]:
        found = await self.users.find_one({"_id": user}, {"roles": 1})
        return list((found or {}).get("roles") or [])

    async def list(self) -> list[Document]:
        return [doc async for doc in self.users.find({})]

    async def revoke_token(
        self, token_id: str, by: str = "", expires_at: datetime | None = None
    ) -> None:
        if not token_id:
            raise PrincipalError("a token id (jti) is required")
        await self.revoked.update_one(
            {"_id": token_id},
            {"$setOnInsert": {"revoked_at": datetime.now(UTC), "by": by, "expires_at": expires_at}},
            upsert=True,
        )

    async def standing(self, principal: Principal) -> str | None:
        """Why this principal may not act now (revoked token, role withdrawn), or None."""
        revoked, roles = await asyncio.gather(
            self.revoked.find_one({"_id": principal.token_id}, {"_id": 1}),
            self.roles(principal.user),
        )
        if revoked is not None:
            return "token revoked"
        if principal.role not in roles:
            return f"role {principal.role} is not granted to {principal.user}"
        return None
