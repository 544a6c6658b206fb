"""Who may call what: bearer-token authentication, roles, scope, and auditing per request.

Every data endpoint depends on `Access.caller(...)`: it authenticates the bearer
token, checks the role, loads the caller's scope (data-use agreements) and hands
the route a `Caller` that audits what the route did. A refusal (401/403) is itself
written to the audit log before the error is returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from medshare_catalog.audit import AuditLog
from medshare_catalog.directory import Directory, Scope
from medshare_catalog.tokens import Principal, Role, TokenError, TokenIssuer

Document = dict[str, Any]
ANY_ROLE: tuple[Role, ...] = ("researcher", "steward", "admin")
CURATORS: tuple[Role, ...] = ("steward", "admin")
ADMINS: tuple[Role, ...] = ("admin",)


@dataclass
class Caller:
    principal: Principal
    scope: Scope
    request: Request
    audit_log: AuditLog

    async def audit(
        self,
        action: str,
        *,
        record_ids: Sequence[str] = (),
        query: Document | None = None,
        status: int = 200,
        outcome: str = "ok",
        detail: str | None = None,
        extra: Document | None = None,
    ) -> None:
        await self.audit_log.append(
            principal=self.principal,
            action=action,
            method=self.request.method,
            path=self.request.url.path,
            query=query if query is not None else dict(self.request.query_params),
            record_ids=record_ids,
            outcome=outcome,
            status=status,
            detail=detail,
            extra=extra,
        )

    async def refuse(
        self, status: int, detail: str, action: str, record_ids: Sequence[str] = ()
    ) -> HTTPException:
        """Audit a refusal and return the exception to raise."""
        await self.audit(
            action, record_ids=record_ids, status=status, outcome="denied", detail=detail
        )
        return HTTPException(status, detail=detail)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Access:
    def __init__(self, issuer: TokenIssuer, directory: Directory, audit_log: AuditLog):
        self.issuer = issuer
        self.directory = directory
        self.audit_log = audit_log

    async def _deny(
        self, request: Request, principal: Principal | None, action: str, status: int, detail: str
    ) -> HTTPException:
        await self.audit_log.append(
            principal=principal,
            action=action,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            outcome="denied",
            status=status,
            detail=detail,
        )
        headers = {"WWW-Authenticate": 'Bearer realm="medshare"'} if status == 401 else None
        return HTTPException(status, detail=detail, headers=headers)

    def caller(
        self, action: str, roles: Sequence[Role] = ANY_ROLE
    ) -> Callable[[Request], Awaitable[Caller]]:
        """A FastAPI dependency: the authenticated, authorised caller of `action`."""
        allowed = tuple(roles)

        async def dependency(request: Request) -> Caller:
            token = bearer_token(request)
            if token is None:
                raise await self._deny(request, None, action, 401, "bearer token required")
            try:
                principal = self.issuer.verify(token)
            except TokenError as error:
                raise await self._deny(request, None, action, 401, str(error)) from None
            if principal.role not in allowed:
                detail = f"role {principal.role} may not {action}; needs {' or '.join(allowed)}"
                raise await self._deny(request, principal, action, 403, detail)
            scope = await self.directory.scope(principal)
            return Caller(principal, scope, request, self.audit_log)

        return dependency
