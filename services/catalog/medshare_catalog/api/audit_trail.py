"""One audit entry per request, with the status actually sent, whatever happened.

A pure ASGI middleware: it arms the request's query time limit, lets the app
run, and when the response starts (or the app fails before it could) appends the
entry built from the request's `AuditNote` (access.py) and that status. The entry
is written before the first byte of the response leaves, so no answer goes out
unaudited. Health probes, the static page and successful metrics scrapes are not
audited (they hold no data); their refusals are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medshare_catalog.api.access import NOTE_KEY, AuditNote
from medshare_catalog.store.audit import AuditLog
from medshare_catalog.store.deadline import QUERY_TIME_LIMIT

log = logging.getLogger(__name__)

QUIET_PATHS = ("/healthz", "/readyz", "/metrics", "/ui", "/favicon.ico")
PROBES = ("/healthz", "/readyz")
# Query parameters never copied into an entry (secrets a client might put there).
SECRET_PARAMS = {"token", "access_token", "authorization", "api_key", "key"}


def outcome_for(status: int, noted: str | None) -> str:
    if status >= 500:
        return "error"
    if noted:
        return noted
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 404:
        return "not_found"
    return "refused"


def query_of(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    raw = scope.get("query_string", b"").decode("latin-1")
    return {k: v for k, v in parse_qsl(raw) if k.lower() not in SECRET_PARAMS}


class AuditTrail:
    def __init__(self, app: ASGIApp, audit_log: AuditLog, query_time_limit_s: float):
        self.app = app
        self.audit_log = audit_log
        self.limit = query_time_limit_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = AuditNote()
        scope[NOTE_KEY] = note
        written = False

        async def write(status: int) -> None:
            nonlocal written
            if written:
                return
            written = True
            path = scope.get("path", "")
            if path.startswith(PROBES):
                return  # a probe must answer while MongoDB is down: it is how the outage shows
            if status < 400 and (path == "/" or path.startswith(QUIET_PATHS)):
                return
            await asyncio.shield(self._append(scope, note, status))

        async def audited_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await write(int(message["status"]))
            await send(message)

        limit = QUERY_TIME_LIMIT.set(self.limit)
        try:
            await self.app(scope, receive, audited_send)
        except BaseException:
            await write(500)
            raise
        finally:
            QUERY_TIME_LIMIT.reset(limit)
        await write(500)  # the app returned without answering

    async def _append(self, scope: Scope, note: AuditNote, status: int) -> None:
        extra: dict[str, Any] = dict(note.extra)
        try:
            await self.audit_log.append(
                principal=note.principal,
                action=note.action or "request",
                method=scope.get("method", ""),
                path=scope.get("path", ""),
                query=note.query if note.query is not None else query_of(scope),
                record_ids=note.record_ids,
                outcome=outcome_for(status, note.outcome),
                status=status,
                detail=note.detail,
                extra=extra,
            )
        except Exception as error:  # the answer still goes out; the failure is logged loudly
            log.error("audit entry not written", extra={"error": type(error).__name__})
            raise
