"""The models medshare can train, by registry name.

Trainers are imported on demand so serving code that only loads models does not pay
for scikit-learn's data loaders.
"""

from __future__ import annotations

import importlib

from medshare_inference.models.training import DEFAULT_SEED, ProgressCallback, TrainedModel

TRAINERS: dict[str, str] = {
    "breast-cancer-malignancy": "medshare_inference.models.breast_cancer",
    "diabetes-progression": "medshare_inference.models.diabetes",
}


class UnknownModelError(KeyError):
    pass


def train_model(
    name: str,
    seed: int = DEFAULT_SEED,
    version: str = "1.0.0",
    progress: ProgressCallback | None = None,
) -> TrainedModel:
    if name not in TRAINERS:
        raise UnknownModelError(f"unknown model {name!r}; known: {', '.join(sorted(TRAINERS))}")
    module = importlib.import_module(TRAINERS[name])
    trained: TrainedModel = module.train(seed=seed, version=version, progress=progress)
    return trained


__all__ = ["DEFAULT_SEED", "TRAINERS", "TrainedModel", "UnknownModelError", "train_model"]
