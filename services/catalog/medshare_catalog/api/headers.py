"""Security headers on every response, and the gate in front of metrics and the API description.

The page and the API get a Content-Security-Policy that allows only the page's own
files (no inline script or style, thumbnails as blob: URLs), may not be framed, and
send no referrer. Swagger UI (/docs, /redoc) is served from local assets but needs an
inline bootstrap (and ReDoc a blob: worker), so it gets a policy of its own. In
deployment (MEDSHARE_CATALOG_INTROSPECTION_TOKEN or _FILE set) /metrics, /openapi.json,
/docs and /redoc answer only a request bearing that secret; in development they stay open.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medshare_catalog.api.access import NOTE_KEY, AuditNote

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")  # /docs-assets too: same prefix
INTROSPECTION_PATHS = ("/metrics", "/openapi.json", "/docs", "/redoc")


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope.get("path", ""))
        names = {name for name, _ in added}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + added
            await send(message)

        await self.app(scope, receive, with_headers)


class IntrospectionGate:
    """Metrics and the API description behind a bearer secret (when one is configured)."""

    def __init__(self, app: ASGIApp, secret: bytes):
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self.secret or not path.startswith(INTROSPECTION_PATHS):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.secret):
            await self.app(scope, receive, send)
            return
        note = scope.get(NOTE_KEY)
        if isinstance(note, AuditNote):
            note.action, note.outcome = "introspection", "denied"
            note.detail = "introspection secret required"
        body = json.dumps({"detail": "this endpoint needs the introspection bearer secret"})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="medshare-introspection"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
