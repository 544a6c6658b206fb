"""ModelRegistry logic against an in-memory store (the real S3 round trip is an integration
test): versions, aliases, hash checks, listing."""

from __future__ import annotations

import hashlib

import pytest

from medshare_inference.models import TrainedModel
from medshare_inference.models.manifest import next_patch
from medshare_inference.registry import (
    ModelNotFoundError,
    ModelRegistry,
    ModelVersionExistsError,
    RegistryError,
    TamperedModelError,
)

from .conftest import MemoryStore

BUCKET = "models-unit"
NAME = "diabetes-progression"


def registry(store: MemoryStore) -> ModelRegistry:
    return ModelRegistry(store.as_store(), BUCKET)


async def test_register_load_round_trip(memory_store: MemoryStore, regressor: TrainedModel) -> None:
    models = registry(memory_store)
    manifest = await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)
    weights = memory_store.buckets[BUCKET]["models/diabetes-progression/1.0.0/weights.pt"]
    assert manifest.sha256 == hashlib.sha256(weights).hexdigest()
    assert manifest.created_at is not None
    model = await models.load(NAME, "1.0.0")
    assert model.manifest == manifest
    assert not model.module.training
    record = {
        "age": 50,
        "sex": 1,
        "bmi": 25,
        "bp": 90,
        "tc": 190,
        "ldl": 115,
        "hdl": 50,
        "tch": 4,
        "ltg": 4.6,
        "glu": 90,
    }
    from .conftest import loaded

    assert model.predict([record]) == loaded(regressor).predict([record])


async def test_versions_are_immutable(memory_store: MemoryStore, regressor: TrainedModel) -> None:
    models = registry(memory_store)
    await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)
    with pytest.raises(ModelVersionExistsError):
        await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)


async def test_manifest_must_match_name_and_version(
    memory_store: MemoryStore, regressor: TrainedModel
) -> None:
    with pytest.raises(RegistryError):
        await registry(memory_store).register(NAME, "2.0.0", regressor.module, regressor.manifest)


async def test_promote_and_production_version(
    memory_store: MemoryStore, regressor: TrainedModel
) -> None:
    models = registry(memory_store)
    assert await models.production_version(NAME) is None
    with pytest.raises(ModelNotFoundError):
        await models.promote(NAME, "1.0.0")
    await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)
    second = regressor.manifest.model_copy(update={"version": "1.0.1"})
    await models.register(NAME, "1.0.1", regressor.module, second)
    await models.promote(NAME, "1.0.0")
    assert await models.production_version(NAME) == "1.0.0"
    assert (await models.load_production(NAME)).manifest.version == "1.0.0"
    assert await models.versions(NAME) == ["1.0.0", "1.0.1"]
    assert await models.next_version(NAME) == "1.0.2"


async def test_tampered_weights_are_refused(
    memory_store: MemoryStore, regressor: TrainedModel
) -> None:
    models = registry(memory_store)
    await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)
    key = "models/diabetes-progression/1.0.0/weights.pt"
    weights = bytearray(memory_store.buckets[BUCKET][key])
    weights[len(weights) // 2] ^= 0x01  # one flipped bit
    memory_store.buckets[BUCKET][key] = bytes(weights)
    with pytest.raises(TamperedModelError):
        await models.load(NAME, "1.0.0")


async def test_list_models_and_missing_things(
    memory_store: MemoryStore, classifier: TrainedModel, regressor: TrainedModel
) -> None:
    models = registry(memory_store)
    assert await models.list_models() == []  # bucket not even created
    with pytest.raises(ModelNotFoundError):
        await models.load(NAME, "1.0.0")
    await models.register(NAME, "1.0.0", regressor.module, regressor.manifest)
    await models.register(classifier.manifest.name, "1.0.0", classifier.module, classifier.manifest)
    listed = await models.list_models()
    assert [(m.name, m.version) for m in listed] == [
        ("breast-cancer-malignancy", "1.0.0"),
        ("diabetes-progression", "1.0.0"),
    ]


def test_next_patch_orders_numerically() -> None:
    assert next_patch([]) == "1.0.0"
    assert next_patch(["1.0.9", "1.0.10", "0.9.99"]) == "1.0.11"
