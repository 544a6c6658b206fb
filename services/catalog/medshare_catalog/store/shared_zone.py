"""The only object-store access the catalog has: the shared (de-identified) zone.

Every read, presigned link and thumbnail goes through `SharedZone`, which refuses
any object outside the configured shared bucket, so a record pointing elsewhere
(the raw zone above all) can never be read or signed from the catalog.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from minio.error import S3Error

from medshare_catalog.store.record import CatalogRecord, Document
from medshare_catalog.store.thumbnails import render_thumbnail, thumbnail_key
from medshare_shared.object_store import ObjectStore

log = logging.getLogger(__name__)


class OutsideSharedZone(PermissionError):
    """The record's object is not in the shared zone; the catalog will not touch it."""


class NotAnImage(ValueError):
    """A thumbnail was asked of something that has no renderable pixels."""


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


class SharedZone:
    def __init__(self, store: ObjectStore, bucket: str, expiry: timedelta):
        self.store = store
        self.bucket = bucket
        self.expiry = expiry

    def location(self, document: CatalogRecord | Document) -> tuple[str, str]:
        stored: Document = dict(document.get("object") or {})
        bucket, key = stored.get("bucket"), stored.get("key")
        if bucket != self.bucket or not isinstance(key, str) or not key:
            raise OutsideSharedZone("the record's object is not in the shared zone")
        return bucket, key

    def presigned(self, document: CatalogRecord | Document) -> DownloadLink:
        bucket, key = self.location(document)
        issued = datetime.now(UTC)
        url = self.store.presigned_get(bucket, key, self.expiry)
        return DownloadLink(url, issued + self.expiry)

    async def read(self, document: CatalogRecord | Document) -> bytes:
        bucket, key = self.location(document)
        return await self.store.get(bucket, key)

    async def read_entry(self, entry: Document) -> bytes:
        """An object named by a manifest entry (frozen datasets keep key, not bucket)."""
        return await self.read({"object": {"bucket": self.bucket, "key": entry.get("key")}})

    async def thumbnail(self, document: CatalogRecord | Document, size: int) -> bytes:
        self.location(document)
        if document.get("kind") != "dicom":
            raise NotAnImage("only images have thumbnails")
        sha = str((document.get("object") or {}).get("sha256"))
        key = thumbnail_key(sha, size)
        try:
            return await self.store.get(self.bucket, key)
        except S3Error as error:
            if error.code not in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                raise
        data = await self.read(document)
        try:
            png = await asyncio.to_thread(render_thumbnail, data, size)
        except Exception as error:  # pydicom/numpy raise many types for odd pixel data
            log.warning("thumbnail not renderable", extra={"record_id": document.get("_id")})
            raise NotAnImage(f"pixel data not renderable ({type(error).__name__})") from None
        await self.store.put(self.bucket, key, png, "image/png")
        return png
