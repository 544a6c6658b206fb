"""How well the burned-in text detector works on images it never saw.

- synthetic: text rendered with held-out fonts onto held-out pydicom-data families;
  image verdicts (precision, recall, ROC AUC) and grid cells (precision, recall).
- real: whole DICOM files through the serving path (decode, frames, preprocessing,
  most positive frame): deid-data's ultrasounds with burned-in annotations, held-out
  pydicom-data files with real text, and held-out clean files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from medshare_inference.models.detector_data import DetectorData
from medshare_inference.models.image_sources import RealImage
from medshare_inference.models.images import prepare_dicom, stack_inputs


@dataclass
class FileVerdict:
    name: str
    has_text: bool
    probability: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def forward(module: nn.Module, images: np.ndarray, chunk: int = 64) -> np.ndarray:
    """(N, 1 + cells) probabilities."""
    module.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(images), chunk):
            logits = module(torch.from_numpy(images[start : start + chunk]))
            parts.append(_sigmoid(logits.double().numpy()))
    return np.concatenate(parts) if parts else np.empty((0, 0))


def precision_recall(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    true_positive = float((truth & predicted).sum())
    precision = true_positive / max(float(predicted.sum()), 1.0)
    recall = true_positive / max(float(truth.sum()), 1.0)
    return precision, recall


def choose_threshold(truth: np.ndarray, probability: np.ndarray, min_recall: float) -> float:
    """The highest threshold (at most 0.5) that still finds `min_recall` of the positives."""
    positives = np.sort(probability[truth])
    if len(positives) == 0:
        return 0.5
    index = int(np.floor((1.0 - min_recall) * len(positives)))
    return float(min(0.5, positives[min(index, len(positives) - 1)]))


def synthetic_samples(
    data: DetectorData, seed: int, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0xE7A1])
    batch = data.batch(rng, count)
    return batch.images, batch.has_text > 0.5, batch.grid > 0.5, batch.grid_known > 0.5


def evaluate_synthetic(
    module: nn.Module, data: DetectorData, seed: int, count: int, threshold: float
) -> dict[str, float]:
    images, truth, grid, known = synthetic_samples(data, seed, count)
    output = forward(module, images)
    probability = output[:, 0]
    precision, recall = precision_recall(truth, probability >= threshold)
    cells = output[:, 1:].reshape(grid.shape)
    cell_precision, cell_recall = precision_recall(grid[known], cells[known] >= threshold)
    return {
        "synthetic_roc_auc": float(roc_auc_score(truth, probability)),
        "synthetic_precision": precision,
        "synthetic_recall": recall,
        "synthetic_cell_precision": cell_precision,
        "synthetic_cell_recall": cell_recall,
        "synthetic_n": float(len(truth)),
    }


def file_verdicts(
    module: nn.Module, images: list[RealImage], size: int, frames: int
) -> list[FileVerdict]:
    """Each file's most positive frame, prepared exactly as the service prepares it."""
    verdicts = []
    for image in images:
        inputs = prepare_dicom(image.data, size, frames)
        probability = forward(module, stack_inputs(inputs))[:, 0].max()
        verdicts.append(FileVerdict(image.name, image.has_text, float(probability)))
    return verdicts


def real_metrics(verdicts: list[FileVerdict], threshold: float, prefix: str) -> dict[str, float]:
    truth = np.array([v.has_text for v in verdicts], dtype=bool)
    flagged = np.array([v.probability >= threshold for v in verdicts], dtype=bool)
    precision, recall = precision_recall(truth, flagged)
    return {
        f"{prefix}_precision": precision,
        f"{prefix}_recall": recall,
        f"{prefix}_positives": float(truth.sum()),
        f"{prefix}_negatives": float((~truth).sum()),
        f"{prefix}_false_positives": float((flagged & ~truth).sum()),
        f"{prefix}_false_negatives": float((~flagged & truth).sum()),
    }
