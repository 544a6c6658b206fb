"""Settings from environment variables, all prefixed MEDSHARE_, validated at start.

Each service extends `CommonSettings` with its own fields. `load_settings` turns a
validation failure into one readable error naming every bad variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medshare_shared.dicom_bounds import DicomBounds
from medshare_shared.topics import Topics


class SettingsError(RuntimeError):
    """Configuration is missing or invalid; the message names each variable."""


def _secrets_dir() -> str | None:
    # Container deployments mount secrets as files (/run/secrets/medshare_s3_secret_key);
    # a file named like the variable fills the setting, so values never sit in the env.
    return os.environ.get("MEDSHARE_SECRETS_DIR") or None


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDSHARE_", extra="ignore", secrets_dir=_secrets_dir()
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_secure: bool = False
    raw_bucket: str = "medshare-raw"
    shared_bucket: str = "medshare-shared"
    models_bucket: str = "medshare-models"
    # Quarantined candidates for steward review (may carry identifying pixels or text).
    held_bucket: str = "medshare-held"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "medshare"
    # Write concern `w` of every write (always with `j: true`, see medshare_shared.mongo):
    # "majority" waits for a majority of a replica set; a single node acknowledges alone.
    mongo_write_concern_w: str = "majority"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    # What one DICOM file may cost to parse (ingest and the anonymizer): the inflated size
    # of a Deflated Explicit VR data set (twice the default object limit) and how deep
    # sequences may nest. See medshare_shared.dicom_bounds.
    dicom_max_inflated_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    dicom_max_depth: int = Field(default=32, ge=1, le=256)

    @field_validator("kafka_bootstrap", "s3_endpoint")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        for address in value.split(","):
            host, sep, port = address.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port, got {address!r}")
        return value

    @field_validator("mongo_write_concern_w")
    @classmethod
    def _write_concern_w(cls, value: str) -> str:
        value = value.strip()
        if value != "majority" and not (value.isdigit() and int(value) >= 1):
            raise ValueError('must be "majority" or a number of nodes (1 or more)')
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    @property
    def dicom_bounds(self) -> DicomBounds:
        return DicomBounds(self.dicom_max_inflated_bytes, self.dicom_max_depth)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Build settings from the environment, or raise one `SettingsError` naming every problem."""
    try:
        return cls()
    except ValidationError as error:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = [_describe(prefix, issue["loc"], issue["msg"]) for issue in error.errors()]
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


def _describe(prefix: str, location: tuple[int | str, ...], message: str) -> str:
    if not location:  # a whole-model check; its message names the variables itself
        return message.removeprefix("Value error, ")
    return f"{prefix}{'_'.join(str(part) for part in location).upper()}: {message}"


def read_secret(value: str, file: Path | None) -> bytes:
    """A secret given inline (env) or as a file path; files win so keys stay out of env dumps."""
    if file is not None:
        return file.read_bytes().strip()
    return value.encode()
