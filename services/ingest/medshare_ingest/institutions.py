"""Who is submitting: API keys (stored as SHA-256 hashes) map to institutions."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from fastapi import HTTPException, Request


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class InstitutionDirectory:
    """Resolves the calling institution. Without a key file it runs in development mode."""

    def __init__(self, key_hashes: dict[str, str] | None):
        self.key_hashes = key_hashes

    @classmethod
    def from_file(cls, path: Path | None) -> InstitutionDirectory:
        if path is None:
            return cls(None)
        return cls(json.loads(path.read_text()))

    def institution_for_key(self, key: str) -> str | None:
        if self.key_hashes is None:
            return None
        digest = hash_api_key(key)
        for known, institution in self.key_hashes.items():
            if hmac.compare_digest(known, digest):
                return institution
        return None

    def resolve(self, request: Request) -> str:
        if self.key_hashes is None:
            institution = request.headers.get("x-institution", "").strip()
            if not institution:
                raise HTTPException(401, detail="X-Institution header required")
            return _checked_name(institution)
        key: str | None = request.headers.get("x-api-key") or _bearer(
            request.headers.get("authorization")
        )
        if not key:
            raise HTTPException(401, detail="API key required (X-API-Key or Bearer)")
        known = self.institution_for_key(key)
        if known is None:
            raise HTTPException(403, detail="unknown API key")
        return known


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _checked_name(name: str) -> str:
    if len(name) > 64 or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise HTTPException(400, detail="institution id must be 1-64 of [A-Za-z0-9-_.]")
    return name
