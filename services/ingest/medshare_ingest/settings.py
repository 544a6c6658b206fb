"""Ingest settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from medshare_shared.settings import CommonSettings


class IngestSettings(CommonSettings):
    http_port: int = Field(default=8081, ge=1, le=65535)
    # JSON file mapping SHA-256(api key) -> institution id; unset means development mode,
    # where the X-Institution header names the institution.
    ingest_api_keys_file: Path | None = None
    max_object_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    consumer_group: str = "medshare-ingest"
