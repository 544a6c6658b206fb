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
    max_instances_per_request: int = Field(default=1000, ge=1)
    # DICOM C-STORE SCP: port 0 turns it off. The allow-list maps calling AE titles
    # to the institution they send for, e.g. {"PACS_A": "st-elsewhere"}.
    dimse_port: int = Field(default=0, ge=0, le=65535)
    dimse_ae_title: str = Field(default="MEDSHARE", min_length=1, max_length=16)
    dimse_allowed_aes: dict[str, str] = Field(default_factory=dict)
