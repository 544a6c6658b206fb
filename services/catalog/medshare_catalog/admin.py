"""Administration over HTTP: the audit log (stewards, admins), projects and agreements (admins).

The same operations exist on the command line (`medshare catalog projects ...`),
which talks to MongoDB directly so a deployment can be set up before any token
exists.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from medshare_catalog.access import ADMINS, CURATORS, Access, Caller
from medshare_catalog.audit import AuditLog
from medshare_catalog.directory import Directory, DirectoryError

Document = dict[str, Any]


class NewProject(BaseModel):
    project: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
    title: str = ""


class NewMember(BaseModel):
    user: str = Field(min_length=1, max_length=200)


class NewAgreement(BaseModel):
    institution: str = Field(min_length=1)
    project: str = Field(min_length=1)
    kinds: list[str] = Field(default_factory=list)
    valid_until: datetime | None = None
    purpose: str = ""


def _public(document: Document, key: str) -> Document:
    view = {k: v for k, v in document.items() if k != "_id"}
    view[key] = document["_id"]
    return view


def admin_router(directory: Directory, audit_log: AuditLog, access: Access) -> APIRouter:
    router = APIRouter(tags=["administration"])

    @router.get("/audit", summary="The audit log, newest first (stewards, admins)")
    async def read_audit(
        caller: Annotated[Caller, Depends(access.caller("audit_read", CURATORS))],
        user: str | None = None,
        action: str | None = None,
        record_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        try:
            entries, following = await audit_log.search(
                user=user,
                action=action,
                record_id=record_id,
                outcome=outcome,
                since=since,
                until=until,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as error:
            raise await caller.refuse(422, str(error), "audit_read") from None
        await caller.audit("audit_read")
        return {"items": [_public(e, "entry_id") for e in entries], "next": following}

    async def run(caller: Caller, action: str, operation: Any) -> None:
        try:
            await operation
        except DirectoryError as error:
            raise await caller.refuse(409, str(error), action) from None

    @router.get("/admin/projects", summary="Projects with members and agreements (admins)")
    async def projects(
        caller: Annotated[Caller, Depends(access.caller("admin_read", ADMINS))],
    ) -> list[Document]:
        agreements = await directory.list_agreements()
        await caller.audit("admin_read")
        return [
            {
                **_public(project, "project"),
                "agreements": [
                    _public(a, "agreement_id") for a in agreements if a["project"] == project["_id"]
                ],
            }
            for project in await directory.list_projects()
        ]

    @router.post("/admin/projects", status_code=201, summary="Create a project (admins)")
    async def create_project(
        body: NewProject, caller: Annotated[Caller, Depends(access.caller("admin_write", ADMINS))]
    ) -> Document:
        await run(caller, "admin_write", directory.create_project(body.project, body.title))
        await caller.audit("admin_write", query=body.model_dump())
        return {"project": body.project}

    @router.post("/admin/projects/{project}/members", summary="Add a member (admins)")
    async def add_member(
        project: str,
        body: NewMember,
        caller: Annotated[Caller, Depends(access.caller("admin_write", ADMINS))],
    ) -> Document:
        await run(caller, "admin_write", directory.add_member(project, body.user))
        await caller.audit("admin_write", query={"project": project, "add_member": body.user})
        return {"project": project, "member": body.user}

    @router.delete("/admin/projects/{project}/members/{user}", summary="Remove a member (admins)")
    async def remove_member(
        project: str,
        user: str,
        caller: Annotated[Caller, Depends(access.caller("admin_write", ADMINS))],
    ) -> Document:
        await run(caller, "admin_write", directory.remove_member(project, user))
        await caller.audit("admin_write", query={"project": project, "remove_member": user})
        return {"project": project, "removed": user}

    @router.post("/admin/agreements", status_code=201, summary="Record a data-use agreement")
    async def grant(
        body: NewAgreement, caller: Annotated[Caller, Depends(access.caller("admin_write", ADMINS))]
    ) -> Document:
        try:
            agreement = await directory.grant(
                body.institution,
                body.project,
                tuple(body.kinds),
                body.valid_until,
                body.purpose,
                caller.principal.user,
            )
        except DirectoryError as error:
            raise await caller.refuse(409, str(error), "admin_write") from None
        await caller.audit("admin_write", query=body.model_dump(mode="json"))
        return _public(agreement, "agreement_id")

    @router.delete("/admin/agreements/{agreement_id}", summary="Revoke a data-use agreement")
    async def revoke(
        agreement_id: str,
        caller: Annotated[Caller, Depends(access.caller("admin_write", ADMINS))],
    ) -> Document:
        try:
            await directory.revoke(agreement_id)
        except DirectoryError as error:
            await caller.audit("admin_write", status=404, outcome="not_found", detail=str(error))
            raise HTTPException(404, detail=str(error)) from None
        await caller.audit("admin_write", query={"revoke": agreement_id})
        return {"revoked": agreement_id}

    return router
