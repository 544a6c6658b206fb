"""Record ids: a contract between ingest, which assigns them, and whoever predicts them
(workloads, tests, re-submissions)."""

from __future__ import annotations

import hashlib


def record_id_for(institution: str, sha256: str) -> str:
    """The id of a record: the same bytes from the same institution are the same record
    (a resubmission is a duplicate); from another institution, another record. 32 hex digits."""
    return hashlib.sha256(f"{institution}\x1f{sha256}".encode()).hexdigest()[:32]
