"""S3 object store access through the `minio` client.

minio is synchronous, so async callers go through `asyncio.to_thread`. Objects are
written with their SHA-256 in user metadata so readers can check what they got.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta

from minio import Minio
from minio.error import S3Error

from medshare_shared.settings import CommonSettings


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    sha256: str
    size: int


class ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, secure: bool = False):
        self.endpoint = endpoint
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> ObjectStore:
        return cls(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_secure
        )

    # -- synchronous core -------------------------------------------------------
    def ensure_bucket_sync(self, bucket: str) -> None:
        if not self.client.bucket_exists(bucket):
            try:
                self.client.make_bucket(bucket)
            except S3Error as error:  # another replica made it first
                if error.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

    def put_sync(self, bucket: str, key: str, data: bytes, content_type: str) -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        self.client.put_object(
            bucket,
            key,
            io.BytesIO(data),
            length=len(data),
            content_type=content_type,
            metadata={"sha256": digest},
        )
        return StoredObject(bucket, key, digest, len(data))

    def get_sync(self, bucket: str, key: str) -> bytes:
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists_sync(self, bucket: str, key: str) -> bool:
        try:
            self.client.stat_object(bucket, key)
        except S3Error as error:
            if error.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchBucket"}:
                return False
            raise
        return True

    def ping_sync(self) -> bool:
        self.client.list_buckets()
        return True

    # -- async wrappers ---------------------------------------------------------
    async def ensure_bucket(self, bucket: str) -> None:
        await asyncio.to_thread(self.ensure_bucket_sync, bucket)

    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> StoredObject:
        return await asyncio.to_thread(self.put_sync, bucket, key, data, content_type)

    async def get(self, bucket: str, key: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, bucket, key)

    async def exists(self, bucket: str, key: str) -> bool:
        return await asyncio.to_thread(self.exists_sync, bucket, key)

    async def ping(self) -> bool:
        return await asyncio.to_thread(self.ping_sync)

    def presigned_get(self, bucket: str, key: str, expires: timedelta) -> str:
        return self.client.presigned_get_object(bucket, key, expires=expires)
