"""Versioned models in the object store, checked by SHA-256 on every load.

Layout in the models bucket:
    models/NAME/VERSION/weights.pt      torch.save of the state dict
    models/NAME/VERSION/manifest.json   ModelManifest (written last: its presence commits)
    models/NAME/aliases/production      the version served, as text
Versions are immutable: registering an existing one is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import torch
from minio.error import S3Error
from torch import nn

from medshare_inference.models.manifest import ModelManifest, next_patch, version_key
from medshare_inference.models.mlp import build_module, deserialize_weights, serialize_weights
from medshare_inference.models.runtime import inference_device
from medshare_inference.serving import LoadedModel, ModelResultDict
from medshare_shared.object_store import ObjectStore

__all__ = [
    "LoadedModel",
    "ModelManifest",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelResultDict",
    "ModelVersionExistsError",
    "RegistryError",
    "TamperedModelError",
    "select_models",
]

_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchBucket"}
PRODUCTION = "production"


class RegistryError(RuntimeError):
    pass


class ModelNotFoundError(RegistryError):
    pass


class ModelVersionExistsError(RegistryError):
    pass


class TamperedModelError(RegistryError):
    """The stored weights are not the ones the manifest was registered with."""


class ModelRegistry:
    def __init__(self, store: ObjectStore, bucket: str):
        self.store = store
        self.bucket = bucket

    # -- keys -------------------------------------------------------------------
    @staticmethod
    def weights_key(name: str, version: str) -> str:
        return f"models/{name}/{version}/weights.pt"

    @staticmethod
    def manifest_key(name: str, version: str) -> str:
        return f"models/{name}/{version}/manifest.json"

    @staticmethod
    def alias_key(name: str, alias: str = PRODUCTION) -> str:
        return f"models/{name}/aliases/{alias}"

    # -- writing ----------------------------------------------------------------
    async def register(
        self, name: str, version: str, model: nn.Module, manifest: ModelManifest
    ) -> ModelManifest:
        """Store weights then manifest; returns the manifest with sha256 and created_at set."""
        if (manifest.name, manifest.version) != (name, version):
            raise RegistryError(
                f"manifest is for {manifest.name} {manifest.version}, not {name} {version}"
            )
        weights = serialize_weights(model)
        # Prove now that the manifest rebuilds this module, not at the first load in production.
        build_module(manifest.architecture).load_state_dict(
            deserialize_weights(weights, torch.device("cpu"))
        )
        await self.store.ensure_bucket(self.bucket)
        if await self.store.exists(self.bucket, self.manifest_key(name, version)):
            raise ModelVersionExistsError(f"{name} {version} is already registered")
        final = manifest.model_copy(
            update={
                "sha256": hashlib.sha256(weights).hexdigest(),
                "created_at": manifest.created_at or datetime.now(UTC),
            }
        )
        await self.store.put(
            self.bucket, self.weights_key(name, version), weights, "application/octet-stream"
        )
        await self.store.put(
            self.bucket,
            self.manifest_key(name, version),
            final.model_dump_json(indent=2).encode(),
            "application/json",
        )
        return final

    async def promote(self, name: str, version: str) -> None:
        if not await self.store.exists(self.bucket, self.manifest_key(name, version)):
            raise ModelNotFoundError(f"{name} {version} is not registered")
        await self.store.put(
            self.bucket, self.alias_key(name), version.encode(), "text/plain; charset=utf-8"
        )

    # -- reading ----------------------------------------------------------------
    async def production_version(self, name: str) -> str | None:
        data = await self._get_or_none(self.alias_key(name))
        return data.decode().strip() if data is not None else None

    async def manifest(self, name: str, version: str) -> ModelManifest:
        data = await self._get_or_none(self.manifest_key(name, version))
        if data is None:
            raise ModelNotFoundError(f"{name} {version} is not registered")
        manifest = ModelManifest.model_validate(json.loads(data))
        if (manifest.name, manifest.version) != (name, version):
            raise TamperedModelError(f"manifest at {name}/{version} describes another model")
        return manifest

    async def load(self, name: str, version: str) -> LoadedModel:
        manifest = await self.manifest(name, version)
        weights = await self._get_or_none(self.weights_key(name, version))
        if weights is None:
            raise ModelNotFoundError(f"{name} {version} has no weights")
        digest = hashlib.sha256(weights).hexdigest()
        if digest != manifest.sha256:
            raise TamperedModelError(
                f"{name} {version}: weights SHA-256 {digest} does not match the manifest's "
                f"{manifest.sha256}"
            )
        device = inference_device()
        module = build_module(manifest.architecture)
        module.load_state_dict(deserialize_weights(weights, torch.device("cpu")), strict=True)
        module.to(device).eval()
        return LoadedModel(manifest, module, device)

    async def load_production(self, name: str) -> LoadedModel:
        version = await self.production_version(name)
        if version is None:
            raise ModelNotFoundError(f"{name} has no production version")
        return await self.load(name, version)

    async def production_names(self) -> list[str]:
        """Names of the models that have a production alias (one listing, no manifest reads)."""
        keys = await self._list_keys("models/")
        return sorted({key.split("/")[1] for key in keys if key.endswith(f"/aliases/{PRODUCTION}")})

    async def versions(self, name: str) -> list[str]:
        keys = await self._list_keys(f"models/{name}/")
        found = {key.split("/")[2] for key in keys if key.endswith("/manifest.json")}
        return sorted(found, key=version_key)

    async def next_version(self, name: str) -> str:
        return next_patch(await self.versions(name))

    async def list_models(self) -> list[ModelManifest]:
        """Every registered version, sorted by name then version."""
        keys = [key for key in await self._list_keys("models/") if key.endswith("/manifest.json")]
        manifests = [
            ModelManifest.model_validate(json.loads(data))
            for data in await asyncio.gather(*(self.store.get(self.bucket, k) for k in keys))
        ]
        return sorted(manifests, key=lambda m: (m.name, version_key(m.version)))

    async def _get_or_none(self, key: str) -> bytes | None:
        try:
            return await self.store.get(self.bucket, key)
        except S3Error as error:
            if error.code in _MISSING:
                return None
            raise

    async def _list_keys(self, prefix: str) -> list[str]:
        def run() -> list[str]:
            # ObjectStore has no listing helper; its minio client does.
            try:
                objects = self.store.client.list_objects(self.bucket, prefix, recursive=True)
                return [obj.object_name for obj in objects if obj.object_name]
            except S3Error as error:
                if error.code in _MISSING:
                    return []
                raise

        return await asyncio.to_thread(run)


def select_models(
    manifests: Iterable[ModelManifest],
    kind: str,
    metadata: Mapping[str, Any] | None = None,
    features: Mapping[str, object] | None = None,
) -> list[str]:
    """Names of the models that apply to a record, from what the manifests declare.

    A rule matches when the kind matches, the DICOM modality (metadata "modality" or
    "Modality") is listed if the rule lists modalities, every metadata field the rule
    names in `requires_metadata` is present and not null, and, if the rule `requires` a
    feature group, the record carries at least one feature of that group (or lists the
    group in metadata "feature_groups"). "At least one" rather than "all": a record with
    an incomplete panel should get an error naming what is missing, not silence.
    """
    metadata = metadata or {}
    features = features or {}
    chosen: set[str] = set()
    for manifest in manifests:
        for rule in manifest.applies_to:
            if rule.kind != kind:
                continue
            if rule.modalities is not None:
                modality = str(metadata.get("modality") or metadata.get("Modality") or "")
                if modality.upper() not in {m.upper() for m in rule.modalities}:
                    continue
            if rule.requires_metadata and any(
                metadata.get(field) in (None, "") for field in rule.requires_metadata
            ):
                continue
            if rule.requires is not None and not _has_group(
                manifest, rule.requires, metadata, features
            ):
                continue
            chosen.add(manifest.name)
    return sorted(chosen)


def _has_group(
    manifest: ModelManifest, group: str, metadata: Mapping[str, Any], features: Mapping[str, object]
) -> bool:
    declared = metadata.get("feature_groups")
    if isinstance(declared, list | tuple | set) and group in declared:
        return True
    if manifest.input_schema is None:
        return False
    return any(
        spec.name in features for spec in manifest.input_schema.features if spec.group == group
    )
