"""Who may call what: bearer-token authentication, roles, scope, and what each request audits.

Every data endpoint depends on `Access.caller(...)`: it authenticates the bearer
token, checks it is not revoked and that the directory still grants its role,
loads the caller's scope (data-use agreements) and hands the route a `Caller`.
Routes and refusals only annotate the request (`AuditNote`: action, principal,
record ids); the audit middleware (api/audit_trail.py) writes one entry per
request with the status actually sent, whatever the outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from medshare_catalog.store.agreements import Directory, Scope
from medshare_catalog.store.principals import Principals
from medshare_catalog.store.record import Document
from medshare_catalog.tokens import Principal, Role, TokenError, TokenIssuer

ANY_ROLE: tuple[Role, ...] = ("researcher", "steward", "admin")
CURATORS: tuple[Role, ...] = ("steward", "admin")
ADMINS: tuple[Role, ...] = ("admin",)
NOTE_KEY = "medshare.audit"


@dataclass
class AuditNote:
    """What a request did, as the route and the access check saw it."""

    action: str | None = None
    principal: Principal | None = None
    record_ids: Sequence[str] = ()
    query: Document | None = None
    outcome: str | None = None
    detail: str | None = None
    extra: Document = field(default_factory=dict)


def note_of(request: Request) -> AuditNote:
    note = request.scope.get(NOTE_KEY)
    if not isinstance(note, AuditNote):
        note = AuditNote()
        request.scope[NOTE_KEY] = note
    return note


@dataclass
class Caller:
    principal: Principal
    scope: Scope
    request: Request

    async def audit(
        self,
        action: str,
        *,
        record_ids: Sequence[str] = (),
        query: Document | None = None,
        status: int = 200,
        outcome: str | None = None,
        detail: str | None = None,
        extra: Document | None = None,
    ) -> None:
        """Annotate the request's audit entry (its status is the one the response carries)."""
        note = note_of(self.request)
        note.action = action
        note.record_ids = list(record_ids)
        note.query = query
        note.outcome = outcome
        note.detail = detail
        note.extra.update(extra or {})

    async def refuse(
        self, status: int, detail: str, action: str, record_ids: Sequence[str] = ()
    ) -> HTTPException:
        """Annotate a refusal and return the exception to raise."""
        await self.audit(action, record_ids=record_ids, outcome="denied", detail=detail)
        return HTTPException(status, detail=detail)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Access:
    def __init__(self, issuer: TokenIssuer, directory: Directory, principals: Principals):
        self.issuer = issuer
        self.directory = directory
        self.principals = principals

    def _deny(
        self, request: Request, principal: Principal | None, action: str, status: int, detail: str
    ) -> HTTPException:
        note = note_of(request)
        note.action, note.principal, note.outcome, note.detail = action, principal, "denied", detail
        headers = {"WWW-Authenticate": 'Bearer realm="medshare"'} if status == 401 else None
        return HTTPException(status, detail=detail, headers=headers)

    async def authenticate(self, request: Request, action: str) -> Principal:
        """The token's principal if it is valid, not revoked and its role still granted."""
        note_of(request).action = action
        token = bearer_token(request)
        if token is None:
            raise self._deny(request, None, action, 401, "bearer token required")
        try:
            principal = self.issuer.verify(token)
        except TokenError as error:
            raise self._deny(request, None, action, 401, str(error)) from None
        reason = await self.principals.standing(principal)
        if reason is not None:
            status = 401 if reason == "token revoked" else 403
            raise self._deny(request, principal, action, status, reason)
        note_of(request).principal = principal
        return principal

    def caller(
        self, action: str, roles: Sequence[Role] = ANY_ROLE
    ) -> Callable[[Request], Awaitable[Caller]]:
        """A FastAPI dependency: the authenticated, authorised caller of `action`."""
        allowed = tuple(roles)

        async def dependency(request: Request) -> Caller:
            principal = await self.authenticate(request, action)
            if principal.role not in allowed:
                detail = f"role {principal.role} may not {action}; needs {' or '.join(allowed)}"
                raise self._deny(request, principal, action, 403, detail)
            scope = await self.directory.scope(principal)
            return Caller(principal, scope, request)

        return dependency
