"""Anonymizer settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from medshare_shared.settings import CommonSettings, read_secret


class AnonymizerSettings(CommonSettings):
    http_port: int = Field(default=8082, ge=1, le=65535)
    consumer_group: str = "medshare-anonymizer"
    # The HMAC key behind every pseudonym, UID and date shift. Give a file (preferred)
    # or the value; without it the service refuses to start.
    anonymizer_secret_file: Path | None = None
    anonymizer_secret: str = ""
    # Annex E options applied to every DICOM instance, comma separated.
    anonymizer_options: str = "retain-long-modified-dates"
    # Case-report dates: keep only the year, or shift by the patient's date shift.
    case_report_date_mode: Literal["year", "shift"] = "shift"
    # Patient pseudonyms: keyed HMAC (stateless, the default), or random surrogates kept
    # in a MongoDB collection (MEDSHARE_MONGO_URL / MEDSHARE_MONGO_DB) for sites whose
    # rules forbid codes derived from identifiers. See medshare_anonymizer.vault.
    pseudonym_mode: Literal["hmac", "vault"] = "hmac"
    pseudonym_vault_collection: str = Field(default="pseudonym_vault", min_length=1)

    @model_validator(mode="after")
    def _secret_given(self) -> AnonymizerSettings:
        if self.anonymizer_secret_file is None and not self.anonymizer_secret:
            raise ValueError(
                "MEDSHARE_ANONYMIZER_SECRET_FILE (or MEDSHARE_ANONYMIZER_SECRET) is required"
            )
        if self.anonymizer_secret_file is not None and not self.anonymizer_secret_file.is_file():
            raise ValueError(f"secret file {self.anonymizer_secret_file} does not exist")
        return self

    def secret(self) -> bytes:
        secret = read_secret(self.anonymizer_secret, self.anonymizer_secret_file)
        if len(secret) < 16:
            raise ValueError("the anonymizer secret must be at least 16 bytes")
        return secret

    def option_set(self) -> frozenset[str]:
        return frozenset(o.strip() for o in self.anonymizer_options.split(",") if o.strip())
