"""Shared training helpers: deterministic runs, stratified splits, the fit loop, metrics.

Training always runs on the CPU on one thread with deterministic algorithms, so the same
seed gives bit-identical weights (and so the same SHA-256) on any machine with the same
torch build; the data sets are a few hundred rows and train in about a second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import brier_score_loss, mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from torch import nn

from medshare_inference.models.manifest import ModelManifest
from medshare_inference.models.mlp import StandardizedMLP

TEST_FRACTION = 0.25
DEFAULT_SEED = 20240611

# Called after each epoch with (epochs done, total epochs); the CLI draws a progress bar.
ProgressCallback = Callable[[int, int], None]
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class TrainedModel:
    module: nn.Module
    manifest: ModelManifest
    seconds: float
    # Held-out predictions, kept for tests and reports (not stored in the registry).
    test_targets: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    test_predictions: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))


@contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed every RNG, force deterministic kernels and one thread; restore settings after."""
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    rng_state = torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # reduction order (and so float rounding) can depend on threads
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_rng_state(rng_state)


def stratified_split(
    x: np.ndarray, y: np.ndarray, strata: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, x_test, y_train, y_test), with `strata` proportions kept in both parts."""
    parts = train_test_split(x, y, test_size=TEST_FRACTION, random_state=seed, stratify=strata)
    x_train, x_test, y_train, y_test = (np.asarray(part) for part in parts)
    return x_train, x_test, y_train, y_test


def quantile_strata(y: np.ndarray, bins: int = 5) -> np.ndarray:
    """Stratify a continuous target by its quantile bin, so both splits span its range."""
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
    return np.digitize(y, edges)


def fit(
    module: StandardizedMLP,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Loss,
    epochs: int,
    learning_rate: float,
    weight_decay: float,
    progress: ProgressCallback | None = None,
) -> None:
    """Full-batch Adam: the sets are small, and no batch sampling means no shuffle RNG."""
    optimizer = torch.optim.AdamW(module.parameters(), lr=learning_rate, weight_decay=weight_decay)
    module.train()
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(module.standardized_output(x), y)
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(epoch + 1, epochs)
    module.eval()


def bce_loss() -> Loss:
    return nn.BCEWithLogitsLoss()


def standardized_mse(
    module: StandardizedMLP,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """MSE in standardised target units: the net never sees raw 25..346 scores."""

    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        scaled = (target.reshape(output.shape) - module.y_mean) / module.y_std
        return nn.functional.mse_loss(output, scaled)

    return loss


def predict_numpy(module: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        output: np.ndarray = module(torch.from_numpy(x.astype(np.float32))).numpy()
    return output.reshape(-1)


def expected_calibration_error(
    y_true: np.ndarray, probability: np.ndarray, bins: int = 10
) -> float:
    """ECE of p(positive): sum over 10 equal-width bins of |mean p - positive rate| * share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    # The last bin is closed on the right, so p == 1.0 is counted.
    index = np.clip(np.digitize(probability, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            gap = abs(float(probability[mask].mean()) - float(y_true[mask].mean()))
            total += gap * mask.sum() / len(probability)
    return float(total)


def classification_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": float(roc_auc_score(y_true, probability)),
        "brier": float(brier_score_loss(y_true, probability)),
        "ece": expected_calibration_error(y_true, probability),
        "accuracy": float(((probability >= 0.5) == (y_true == 1)).mean()),
    }


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "mae": float(mean_absolute_error(y_true, predicted)),
        "r2": float(r2_score(y_true, predicted)),
    }


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
