"""Catalog settings (MEDSHARE_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from medshare_shared.settings import CommonSettings


class CatalogSettings(CommonSettings):
    http_port: int = Field(default=8084, ge=1, le=65535)
    consumer_group: str = "medshare-catalog"
    records_collection: str = "records"
