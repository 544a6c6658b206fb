"""Administration over HTTP: the audit log (stewards, admins), projects and agreements (admins).

The same operations exist on the command line (`medshare catalog projects ...`),
which talks to MongoDB directly so a deployment can be set up before any token
exists.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from medshare_catalog.api.access import ADMINS, CURATORS, Access, Caller
from medshare_catalog.store.agreements import Directory, DirectoryError
from medshare_catalog.store.audit import AuditLog
from medshare_catalog.store.principals import PrincipalError, Principals
from medshare_catalog.store.record import Document
from medshare_catalog.tokens import Role


class NewProject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
    title: str = Field(default="", max_length=200)


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=200)


class NewAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
    project: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
    kinds: list[Literal["dicom", "case_report"]] = Field(default_factory=list, max_length=2)
    valid_until: datetime | None = None
    purpose: str = Field(default="", max_length=1000)


def _public(document: Document, key: str) -> Document:
    view = {k: v for k, v in document.items() if k != "_id"}
    view[key] = document["_id"]
    return view


class TokenRevocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


UserName = Annotated[str, Path(min_length=1, max_length=200)]


def admin_router(
    directory: Directory, audit_log: AuditLog, access: Access, principals: Principals
) -> APIRouter:
    router = APIRouter(tags=["administration"])

    @router.get("/audit", summary="The audit log, newest first (stewards, admins)")
    async def read_audit(
        caller: Annotated[Caller, Depends(access.caller("audit_read", CURATORS))],
        user: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        record_id: Annotated[str | None, Query(max_length=128)] = None,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
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

    Reader = Annotated[Caller, Depends(access.caller("admin_read", ADMINS))]
    Writer = Annotated[Caller, Depends(access.caller("admin_write", ADMINS))]

    async def run(caller: Writer, operation: Any, status: int = 409) -> Any:
        """The directory's answer, or its refusal as `status` (audited)."""
        try:
            return await operation
        except (DirectoryError, PrincipalError) as error:
            raise await caller.refuse(status, str(error), "admin_write") from None

    @router.get("/admin/projects", summary="Projects with members and agreements (admins)")
    async def projects(
        caller: Reader,
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
    async def create_project(body: NewProject, caller: Writer) -> Document:
        await run(caller, directory.create_project(body.project, body.title))
        await caller.audit("admin_write", query=body.model_dump())
        return {"project": body.project}

    @router.post("/admin/projects/{project}/members", summary="Add a member (admins)")
    async def add_member(
        project: str,
        body: NewMember,
        caller: Writer,
    ) -> Document:
        await run(caller, directory.add_member(project, body.user))
        await caller.audit("admin_write", query={"project": project, "add_member": body.user})
        return {"project": project, "member": body.user}

    @router.delete("/admin/projects/{project}/members/{user}", summary="Remove a member (admins)")
    async def remove_member(
        project: str,
        user: str,
        caller: Writer,
    ) -> Document:
        await run(caller, directory.remove_member(project, user))
        await caller.audit("admin_write", query={"project": project, "remove_member": user})
        return {"project": project, "removed": user}

    @router.post("/admin/agreements", status_code=201, summary="Record a data-use agreement")
    async def grant(body: NewAgreement, caller: Writer) -> Document:
        agreement = await run(
            caller,
            directory.grant(
                body.institution,
                body.project,
                tuple(body.kinds),
                body.valid_until,
                body.purpose,
                caller.principal.user,
            ),
        )
        await caller.audit("admin_write", query=body.model_dump(mode="json"))
        return _public(agreement, "agreement_id")

    @router.delete("/admin/agreements/{agreement_id}", summary="Revoke a data-use agreement")
    async def revoke(
        agreement_id: str,
        caller: Writer,
    ) -> Document:
        try:
            await directory.revoke(agreement_id)
        except DirectoryError as error:
            await caller.audit("admin_write", status=404, outcome="not_found", detail=str(error))
            raise HTTPException(404, detail=str(error)) from None
        await caller.audit("admin_write", query={"revoke": agreement_id})
        return {"revoked": agreement_id}

    @router.get("/admin/users/{user}/roles", summary="The roles a user holds (admins)")
    async def user_roles(user: UserName, caller: Reader) -> Document:
        await caller.audit("admin_read", query={"roles_of": user})
        return {"user": user, "roles": await principals.roles(user)}

    @router.put("/admin/users/{user}/roles/{role}", summary="Grant a role (admins)")
    async def grant_role(
        user: UserName,
        role: Role,
        caller: Writer,
    ) -> Document:
        await principals.grant_role(user, role, caller.principal.user)
        await caller.audit("admin_write", query={"grant_role": role, "user": user})
        return {"user": user, "roles": await principals.roles(user)}

    @router.delete("/admin/users/{user}/roles/{role}", summary="Withdraw a role, now (admins)")
    async def remove_role(
        user: UserName,
        role: Role,
        caller: Writer,
    ) -> Document:
        await run(caller, principals.remove_role(user, role, caller.principal.user), 404)
        await caller.audit("admin_write", query={"remove_role": role, "user": user})
        return {"user": user, "roles": await principals.roles(user)}

    @router.post("/admin/tokens/revoked", status_code=201, summary="Revoke a token by id (admins)")
    async def revoke_token(
        body: TokenRevocation,
        caller: Writer,
    ) -> Document:
        await principals.revoke_token(body.token_id, caller.principal.user)
        await caller.audit("admin_write", query={"revoke_token": body.token_id})
        return {"revoked": body.token_id}

    return router
