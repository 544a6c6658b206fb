"""Trained weights cached under MEDSHARE_CACHE, keyed by what determines them.

A model that takes minutes to train is trained once per (training code, seed, torch
build, thread count): the key hashes the source of every module that shapes the result,
so editing any of them retrains, and nothing stale is ever reused.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from medshare_inference.models.manifest import ModelManifest
from medshare_inference.models.mlp import build_module, deserialize_weights, serialize_weights
from medshare_inference.models.training import TrainedModel


def cache_root() -> Path:
    return Path(os.environ.get("MEDSHARE_CACHE", "~/.cache/medshare")).expanduser() / "models"


def training_key(modules: Sequence[str], seed: int, extra: str = "") -> str:
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode())
        digest.update(inspect.getsource(importlib.import_module(name)).encode())
    digest.update(f"{seed}|{torch.__version__}|{platform.machine()}|{extra}".encode())
    return digest.hexdigest()[:24]


def cached(
    name: str, key: str, version: str, train: Callable[[], TrainedModel]
) -> tuple[TrainedModel, bool]:
    """(model, came from the cache). A hit returns the stored weights under `version`."""
    folder = cache_root() / name / key
    weights, manifest_path = folder / "weights.pt", folder / "manifest.json"
    if weights.exists() and manifest_path.exists():
        manifest = ModelManifest.model_validate(json.loads(manifest_path.read_text()))
        module = build_module(manifest.architecture)
        module.load_state_dict(deserialize_weights(weights.read_bytes(), torch.device("cpu")))
        module.eval()
        manifest = manifest.model_copy(update={"version": version})
        return TrainedModel(module, manifest, 0.0), True
    trained = train()
    folder.mkdir(parents=True, exist_ok=True)
    # Write to temporary names and rename: a killed run never leaves half a cache entry.
    for path, data in (
        (weights, serialize_weights(trained.module)),
        (manifest_path, trained.manifest.model_dump_json(indent=2).encode()),
    ):
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
    return trained, False
