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
    "burned-in-text": "medshare_inference.models.burned_in_text",
}


class UnknownModelError(KeyError):
    pass


def train_model(
    name: str,
    seed: int = DEFAULT_SEED,
    version: str = "1.0.0",
    progress: ProgressCallback | None = None,
    cache: bool = True,
) -> TrainedModel:
    """Train NAME. Trainers that take minutes (CACHEABLE) reuse a cached result of the same
    code and seed unless `cache` is false; the others train in about a second anyway."""
    if name not in TRAINERS:
        raise UnknownModelError(f"unknown model {name!r}; known: {', '.join(sorted(TRAINERS))}")
    module = importlib.import_module(TRAINERS[name])
    options = {"cache": cache} if getattr(module, "CACHEABLE", False) else {}
    trained: TrainedModel = module.train(seed=seed, version=version, progress=progress, **options)
    return trained


__all__ = ["DEFAULT_SEED", "TRAINERS", "TrainedModel", "UnknownModelError", "train_model"]
