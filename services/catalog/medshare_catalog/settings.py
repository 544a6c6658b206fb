"""Catalog settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from medshare_shared.settings import CommonSettings, read_secret

# HS256 keys shorter than the hash output weaken the signature (RFC 7518 3.2).
MIN_JWT_KEY_BYTES = 32


class CatalogSettings(CommonSettings):
    http_port: int = Field(default=8084, ge=1, le=65535)
    consumer_group: str = "medshare-catalog"
    records_collection: str = "records"

    # Signing key for bearer tokens: inline or (preferred) a file; never in the repository.
    catalog_jwt_secret: str = ""
    catalog_jwt_secret_file: Path | None = None
    catalog_token_ttl_s: int = Field(default=8 * 3600, ge=60)
    catalog_download_expiry_s: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    # Model names whose verdict gates release (comma separated): a flagged image is
    # withheld until a steward reviews it.
    catalog_release_gates: str = "burned-in-text"
    # Withhold images until a gate model has spoken (off: gates only withhold on a flag).
    catalog_require_gate_verdict: bool = False
    catalog_min_k: int = Field(default=5, ge=1)
    catalog_min_l: int = Field(default=1, ge=1)
    catalog_thumbnail_px: int = Field(default=256, ge=32, le=1024)
    catalog_max_page: int = Field(default=500, ge=1, le=10_000)
    # Search totals are counted exactly up to this many; above it a search answers
    # "more than N" (`total_is_lower_bound`) unless it asks for `exact_total=true`.
    catalog_exact_total_up_to: int = Field(default=1000, ge=1, le=10_000_000)
    # Every query a request runs: maxTimeMS on the server, a deadline on the client.
    catalog_query_timeout_s: float = Field(default=5.0, gt=0, le=600)
    # Token lifetimes the issuer and the verifier accept (admins' shorter).
    catalog_token_max_ttl_s: int = Field(default=30 * 86400, ge=60)
    catalog_admin_token_max_ttl_s: int = Field(default=86400, ge=60)
    # Facet and statistics counts below this are shown to researchers as "<k".
    catalog_small_cell: int = Field(default=5, ge=1)
    # A bearer secret for /metrics, /openapi.json and /docs; unset: development, open.
    catalog_introspection_token: str = ""
    catalog_introspection_token_file: Path | None = None

    @model_validator(mode="after")
    def _jwt_key_readable(self) -> CatalogSettings:
        path = self.catalog_jwt_secret_file
        if path is not None and not path.is_file():
            raise ValueError("MEDSHARE_CATALOG_JWT_SECRET_FILE: no such file")
        return self

    @property
    def release_gates(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.catalog_release_gates.split(",") if name.strip())

    def introspection_key(self) -> bytes:
        """The secret guarding /metrics and the API description (empty: open, development)."""
        return read_secret(self.catalog_introspection_token, self.catalog_introspection_token_file)

    def jwt_key(self) -> bytes:
        """The token signing key; raises naming the variables when it is missing or short."""
        key = read_secret(self.catalog_jwt_secret, self.catalog_jwt_secret_file)
        if len(key) < MIN_JWT_KEY_BYTES:
            raise ValueError(
                "MEDSHARE_CATALOG_JWT_SECRET_FILE or MEDSHARE_CATALOG_JWT_SECRET: "
                f"a signing key of at least {MIN_JWT_KEY_BYTES} bytes is required"
            )
        return key
