"""Ingest settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from medshare_ingest.limits import DEFAULT_TRANSFER_SYNTAXES, IngestLimits
from medshare_shared.settings import CommonSettings


def _uid_list(value: Any) -> Any:
    """Comma-separated UIDs (or a JSON list) from the environment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class IngestSettings(CommonSettings):
    http_port: int = Field(default=8081, ge=1, le=65535)
    # JSON file mapping SHA-256(api key) -> institution id; unset means development mode,
    # where the X-Institution header names the institution.
    ingest_api_keys_file: Path | None = None
    consumer_group: str = "medshare-ingest"
    # Limits: one object (an instance or a case report), one HTTP request body, the
    # instances in one STOW-RS request, and what kinds of DICOM are taken at all.
    max_object_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_request_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    max_instances_per_request: int = Field(default=1000, ge=1)
    # Empty: every storage SOP class pynetdicom knows.
    accepted_sop_classes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    accepted_transfer_syntaxes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TRANSFER_SYNTAXES)
    )
    # A broker or object-store outage must not hold a client for long: past these
    # bounds the submission is answered "not accepted, retry" (503 / C-STORE A700).
    ingest_publish_timeout_s: float = Field(default=10.0, gt=0, le=300)
    ingest_store_timeout_s: float = Field(default=60.0, gt=0, le=600)
    ingest_retry_after_s: int = Field(default=5, ge=1, le=3600)
    # Threads for blocking work (object-store calls, DICOM parsing): the default pool
    # (CPUs + 4) would queue S3 round trips of concurrent clients behind each other.
    ingest_io_threads: int = Field(default=32, ge=1, le=512)
    # Consumers of records.submitted in this process, each owning some partitions (order
    # and commits stay per partition): more than the topic's partitions would sit idle.
    ingest_kafka_workers: int = Field(default=3, ge=1, le=64)
    # DICOM C-STORE SCP: port 0 turns it off. The allow-list maps calling AE titles
    # to the institution they send for, e.g. {"PACS_A": "st-elsewhere"}.
    dimse_port: int = Field(default=0, ge=0, le=65535)
    dimse_ae_title: str = Field(default="MEDSHARE", min_length=1, max_length=16)
    dimse_allowed_aes: dict[str, str] = Field(default_factory=dict)
    # An AE title is only a name the caller chooses: bind each to the addresses (or CIDR
    # networks) its PACS calls from, e.g. {"PACS_A": ["10.20.0.0/24"]}. A title without
    # an entry is taken from any address, with a warning at start and in /readyz.
    dimse_allowed_peers: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("accepted_sop_classes", "accepted_transfer_syntaxes", mode="before")
    @classmethod
    def _split_uids(cls, value: Any) -> Any:
        return _uid_list(value)

    @field_validator("accepted_sop_classes", "accepted_transfer_syntaxes")
    @classmethod
    def _valid_uids(cls, value: list[str]) -> list[str]:
        for uid in value:
            if not uid or len(uid) > 64 or not all(ch.isdigit() or ch == "." for ch in uid):
                raise ValueError("expected DICOM UIDs (digits and dots), comma separated")
        return value

    @field_validator("dimse_allowed_aes")
    @classmethod
    def _valid_ae_titles(cls, value: dict[str, str]) -> dict[str, str]:
        for title in value:
            if not 0 < len(title.strip()) <= 16:
                raise ValueError("AE titles are 1-16 characters")
        return value

    @field_validator("dimse_allowed_peers")
    @classmethod
    def _valid_peers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for addresses in value.values():
            for address in addresses:
                ipaddress.ip_network(address, strict=False)  # ValueError names the bad one
        return value

    @property
    def unsafe_modes(self) -> list[str]:
        """What this configuration leaves open, for the start-up log and /readyz."""
        found = []
        if self.ingest_api_keys_file is None:
            found.append(
                "development mode: no MEDSHARE_INGEST_API_KEYS_FILE, so the X-Institution "
                "header is trusted and any caller can submit as any institution"
            )
        if self.dimse_port:
            unbound = sorted(set(self.dimse_allowed_aes) - set(self.dimse_allowed_peers))
            if unbound:
                found.append(
                    f"C-STORE AE titles {', '.join(unbound)} are not bound to peer addresses "
                    "(MEDSHARE_DIMSE_ALLOWED_PEERS): any host may call with them"
                )
        return found

    @model_validator(mode="after")
    def _scp_has_callers(self) -> IngestSettings:
        if self.dimse_port and not self.dimse_allowed_aes:
            raise ValueError(
                "MEDSHARE_DIMSE_PORT is set but MEDSHARE_DIMSE_ALLOWED_AES is empty: "
                'name the calling AE titles, e.g. {"PACS_A": "institution-id"}'
            )
        unknown = set(self.dimse_allowed_peers) - set(self.dimse_allowed_aes)
        if unknown:
            raise ValueError(
                "MEDSHARE_DIMSE_ALLOWED_PEERS names AE titles not in MEDSHARE_DIMSE_ALLOWED_AES"
            )
        return self

    @property
    def limits(self) -> IngestLimits:
        return IngestLimits(
            max_object_bytes=self.max_object_bytes,
            max_request_bytes=self.max_request_bytes,
            max_instances_per_request=self.max_instances_per_request,
            sop_classes=frozenset(self.accepted_sop_classes) or None,
            transfer_syntaxes=frozenset(self.accepted_transfer_syntaxes),
            dicom=self.dicom_bounds,
        )
