"""The model registry against the real S3 server (SeaweedFS locally, MinIO in compose).

Round trip (register, promote, load, predict) with the SHA-256 check, and a weights
object overwritten in the bucket must be refused.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from click.testing import CliRunner

from medshare_inference.model_cli import models_cli
from medshare_inference.models import TrainedModel, train_model
from medshare_inference.models.mlp import serialize_weights
from medshare_inference.registry import ModelRegistry, TamperedModelError
from medshare_shared.object_store import ObjectStore

NAME = "diabetes-progression"
RECORD = {
    "age": 48.0,
    "sex": 2.0,
    "bmi": 31.5,
    "bp": 96.0,
    "tc": 210.0,
    "ldl": 130.0,
    "hdl": 44.0,
    "tch": 4.8,
    "ltg": 5.1,
    "glu": 101.0,
}


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train_model(NAME, seed=3)


async def test_register_promote_load_round_trip(
    object_store: ObjectStore, fresh_bucket: str, trained: TrainedModel
) -> None:
    registry = ModelRegistry(object_store, fresh_bucket)
    manifest = await registry.register(NAME, "1.0.0", trained.module, trained.manifest)
    stored = await object_store.get(fresh_bucket, f"models/{NAME}/1.0.0/weights.pt")
    assert hashlib.sha256(stored).hexdigest() == manifest.sha256
    assert stored == serialize_weights(trained.module)

    assert await registry.production_version(NAME) is None
    await registry.promote(NAME, "1.0.0")
    assert await registry.production_version(NAME) == "1.0.0"

    model = await registry.load_production(NAME)
    assert model.manifest == manifest
    assert model.manifest.metrics == trained.manifest.metrics
    [result] = model.predict([RECORD])
    with torch.inference_mode():
        expected = trained.module(torch.tensor([list(RECORD.values())])).item()
    assert result["progression_score"] == pytest.approx(expected, rel=1e-5)
    [bad] = model.predict([{**RECORD, "bmi": 95.0}])
    assert str(bad["error"]).startswith("out of range: bmi=95.0")

    assert [(m.name, m.version) for m in await registry.list_models()] == [(NAME, "1.0.0")]
    assert await registry.next_version(NAME) == "1.0.1"


async def test_overwritten_weights_raise_tampered(
    object_store: ObjectStore, fresh_bucket: str, trained: TrainedModel
) -> None:
    registry = ModelRegistry(object_store, fresh_bucket)
    await registry.register(NAME, "1.0.0", trained.module, trained.manifest)
    # A well-formed state dict of the same shape, just not the registered one.
    other = train_model(NAME, seed=4)
    await object_store.put(
        fresh_bucket,
        f"models/{NAME}/1.0.0/weights.pt",
        serialize_weights(other.module),
        "application/octet-stream",
    )
    with pytest.raises(TamperedModelError):
        await registry.load(NAME, "1.0.0")


def test_cli_trains_registers_and_lists(stack_env: dict[str, str], fresh_bucket: str) -> None:
    env = {**stack_env, "MEDSHARE_MODELS_BUCKET": fresh_bucket, "COLUMNS": "160"}
    runner = CliRunner(env=env)
    result = runner.invoke(models_cli, ["train", NAME, "--seed", "3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "promoted diabetes-progression 1.0.0" in result.output
    result = runner.invoke(models_cli, ["list"], catch_exceptions=False)
    assert result.exit_code == 0 and "diabetes-progression" in result.output
    result = runner.invoke(models_cli, ["show", NAME], catch_exceptions=False)
    assert result.exit_code == 0 and '"version": "1.0.0"' in result.output


async def test_image_model_round_trip_and_tamper_check(
    object_store: ObjectStore, fresh_bucket: str
) -> None:
    """The detector's manifest (image input, grid output, metrics) and weights survive S3."""
    from medshare_inference.models.image_sources import deid_real_images
    from medshare_inference.models.images import prepare_dicom

    detector = train_model("burned-in-text")  # from MEDSHARE_CACHE after the first run
    registry = ModelRegistry(object_store, fresh_bucket)
    manifest = await registry.register(
        "burned-in-text", "1.0.0", detector.module, detector.manifest
    )
    loaded = await registry.load("burned-in-text", "1.0.0")
    assert loaded.manifest == manifest and loaded.takes_images
    assert loaded.manifest.metrics == detector.manifest.metrics
    spec = loaded.manifest.image_input
    assert spec is not None
    ultrasound = next(i for i in deid_real_images() if i.name == "RGB_IMAGE.dcm")
    frames = prepare_dicom(ultrasound.data, spec.size, spec.frames)
    [result] = loaded.predict_images([frames])
    with torch.inference_mode():
        logits = detector.module(torch.from_numpy(frames[0][None, None]))
    assert result["probability"] == pytest.approx(torch.sigmoid(logits[0, 0]).item(), rel=1e-5)

    key = registry.weights_key("burned-in-text", "1.0.0")
    stored = bytearray(await object_store.get(fresh_bucket, key))
    stored[-100] ^= 0x40
    await object_store.put(fresh_bucket, key, bytes(stored), "application/octet-stream")
    with pytest.raises(TamperedModelError):
        await registry.load("burned-in-text", "1.0.0")
