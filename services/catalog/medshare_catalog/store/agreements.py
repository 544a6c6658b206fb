"""Research projects and data-use agreements, kept in MongoDB.

A project has members (user names). A data-use agreement lets one institution
share its records (optionally only some kinds, optionally until a date) with one
project. A researcher sees the released records of every institution that has an
active agreement with a project they belong to (and that their token is scoped
to); stewards and admins see every record.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from medshare_catalog.store.record import CatalogRecord, Document
from medshare_catalog.tokens import Principal

KINDS = ("dicom", "case_report")


class DirectoryError(ValueError):
    """A project or agreement operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class Grant:
    institution: str
    project: str
    kinds: tuple[str, ...] = ()  # empty: every kind

    def allows(self, document: CatalogRecord) -> bool:
        return document.get("institution") == self.institution and (
            not self.kinds or document.get("kind") in self.kinds
        )


@dataclass(frozen=True)
class Scope:
    """Which records one caller may see."""

    principal: Principal
    projects: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def unrestricted(self) -> bool:
        return self.principal.is_curator

    def record_filter(self) -> Document:
        """The MongoDB condition every query of this caller is ANDed with."""
        if self.unrestricted:
            return {"cataloged": True}
        clauses = grant_clauses(self.grants)
        if not clauses:
            return {"_id": {"$in": []}}  # no agreement: nothing
        visible: Document = {"cataloged": True, "release.state": "released"}
        visible.update(clauses[0] if len(clauses) == 1 else {"$or": clauses})
        return visible

    def allows(self, document: CatalogRecord) -> bool:
        if not document.get("cataloged"):
            return self.unrestricted
        if self.unrestricted:
            return True
        release = document.get("release")
        released = release is not None and release.get("state") == "released"
        return released and any(grant.allows(document) for grant in self.grants)


def grant_clauses(grants: tuple[Grant, ...]) -> list[Document]:
    whole: set[str] = set()
    by_kinds: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for grant in grants:
        if grant.kinds:
            by_kinds[tuple(sorted(grant.kinds))].add(grant.institution)
        else:
            whole.add(grant.institution)
    clauses: list[Document] = []
    if whole:
        clauses.append({"institution": {"$in": sorted(whole)}})
    for kinds, institutions in sorted(by_kinds.items()):
        remaining = sorted(institutions - whole)
        if remaining:
            clauses.append({"institution": {"$in": remaining}, "kind": {"$in": list(kinds)}})
    return clauses


class Directory:
    def __init__(self, database: AsyncDatabase[Document]):
        self.projects = database["projects"]
        self.agreements = database["agreements"]

    async def ensure_indexes(self) -> None:
        await self.projects.create_index([("members", ASCENDING)])
        await self.agreements.create_index([("project", ASCENDING)])
        await self.agreements.create_index([("institution", ASCENDING)])

    # -- projects -------------------------------------------------------------
    async def create_project(self, project: str, title: str = "") -> Document:
        document = {
            "_id": project,
            "title": title or project,
            "members": [],
            "created_at": datetime.now(UTC),
        }
        try:
            await self.projects.insert_one(document)
        except DuplicateKeyError:
            raise DirectoryError(f"project {project} exists already") from None
        return document

    async def add_member(self, project: str, user: str) -> None:
        result = await self.projects.update_one({"_id": project}, {"$addToSet": {"members": user}})
        if result.matched_count == 0:
            raise DirectoryError(f"no project {project}")

    async def remove_member(self, project: str, user: str) -> None:
        result = await self.projects.update_one({"_id": project}, {"$pull": {"members": user}})
        if result.matched_count == 0:
            raise DirectoryError(f"no project {project}")

    async def list_projects(self) -> list[Document]:
        return [doc async for doc in self.projects.find({}).sort("_id", ASCENDING)]

    async def project(self, project: str) -> Document | None:
        return await self.projects.find_one({"_id": project})

    # -- agreements -----------------------------------------------------------
    async def grant(
        self,
        institution: str,
        project: str,
        kinds: tuple[str, ...] = (),
        valid_until: datetime | None = None,
        purpose: str = "",
        created_by: str = "",
    ) -> Document:
        if await self.project(project) is None:
            raise DirectoryError(f"no project {project}")
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise DirectoryError(f"unknown record kinds: {', '.join(unknown)}")
        document = {
            "_id": uuid.uuid4().hex[:12],
            "institution": institution,
            "project": project,
            "kinds": list(kinds),
            "valid_until": valid_until,
            "purpose": purpose,
            "revoked_at": None,
            "created_at": datetime.now(UTC),
            "created_by": created_by,
        }
        await self.agreements.insert_one(document)
        return document

    async def revoke(self, agreement_id: str) -> None:
        result = await self.agreements.update_one(
            {"_id": agreement_id, "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}}
        )
        if result.matched_count == 0:
            raise DirectoryError(f"no active agreement {agreement_id}")

    async def list_agreements(self, project: str | None = None) -> list[Document]:
        query = {"project": project} if project else {}
        return [doc async for doc in self.agreements.find(query).sort("created_at", ASCENDING)]

    # -- what a caller sees ---------------------------------------------------
    async def member_projects(self, user: str) -> list[str]:
        return [doc["_id"] async for doc in self.projects.find({"members": user}, {"_id": 1})]

    async def grants(self, projects: list[str], now: datetime | None = None) -> list[Grant]:
        """Active (not revoked, not expired) agreements of these projects."""
        moment = now or datetime.now(UTC)
        found = []
        async for doc in self.agreements.find({"project": {"$in": projects}, "revoked_at": None}):
            until = doc.get("valid_until")
            if until is not None and until <= moment:
                continue
            found.append(Grant(doc["institution"], doc["project"], tuple(doc.get("kinds") or ())))
        return found

    async def scope(self, principal: Principal, now: datetime | None = None) -> Scope:
        if principal.is_curator:
            return Scope(principal, tuple(await self.member_projects(principal.user)))
        projects = await self.member_projects(principal.user)
        if principal.projects:
            projects = [p for p in projects if p in principal.projects]
        if not projects:
            return Scope(principal)
        grants = await self.grants(projects, now)
        return Scope(principal, tuple(sorted(projects)), tuple(grants))

    async def project_scope(self, project: str, now: datetime | None = None) -> Scope:
        """What a project is entitled to, whoever asks: a dataset of it holds only this."""
        member = Principal(user=f"project:{project}", role="researcher", projects=(project,))
        return Scope(member, (project,), tuple(await self.grants([project], now)))
