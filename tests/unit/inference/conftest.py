"""Fixtures for the inference unit tests: trained models (once per session), a memory store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import pytest
from minio.error import S3Error

from medshare_inference.models import TrainedModel, train_model
from medshare_inference.models.runtime import inference_device
from medshare_inference.registry import LoadedModel
from medshare_shared.object_store import ObjectStore


@pytest.fixture(scope="session")
def classifier() -> TrainedModel:
    return train_model("breast-cancer-malignancy", seed=7)


@pytest.fixture(scope="session")
def regressor() -> TrainedModel:
    return train_model("diabetes-progression", seed=7)


def loaded(trained: TrainedModel) -> LoadedModel:
    device = inference_device()
    return LoadedModel(trained.manifest, trained.module.to(device).eval(), device)


@dataclass
class _Listed:
    object_name: str


class _MemoryClient:
    def __init__(self, store: MemoryStore):
        self.store = store

    def list_objects(self, bucket: str, prefix: str, recursive: bool = False) -> list[_Listed]:
        if bucket not in self.store.buckets:
            raise _missing("NoSuchBucket")
        return [_Listed(k) for k in sorted(self.store.buckets[bucket]) if k.startswith(prefix)]


def _missing(code: str) -> S3Error:
    return S3Error(None, code, "missing", "resource", "request", "host")  # type: ignore[arg-type]


class MemoryStore:
    """The slice of ObjectStore the registry uses, in memory: unit tests need no server."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.client = _MemoryClient(self)

    async def ensure_bucket(self, bucket: str) -> None:
        self.buckets.setdefault(bucket, {})

    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> Any:
        self.buckets[bucket][key] = data

    async def get(self, bucket: str, key: str) -> bytes:
        await asyncio.sleep(0)
        try:
            return self.buckets[bucket][key]
        except KeyError:
            raise _missing("NoSuchKey") from None

    async def exists(self, bucket: str, key: str) -> bool:
        return key in self.buckets.get(bucket, {})

    def as_store(self) -> ObjectStore:
        return cast(ObjectStore, self)  # duck-typed: the registry uses only the methods above


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()
