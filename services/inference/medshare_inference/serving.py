"""A loaded model and how a batch goes through it: one forward pass, results per record.

What the module's output means comes from the manifest's output schema, so this file
has no per-model branches: only per input kind (features or pixels) and task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from medshare_inference.features import feature_matrix, validate_features
from medshare_inference.models.images import stack_inputs
from medshare_inference.models.manifest import ModelManifest, OutputSchema

# One record's result: the output fields plus "confidence" (classifiers), or {"error": ...}.
ModelResultDict = dict[str, object]
# An image record's input: prepared frames, or the reason there are none.
ImageRecord = list[np.ndarray] | str


class LoadedModel:
    """A model ready to serve: its manifest and its module in eval mode."""

    def __init__(self, manifest: ModelManifest, module: nn.Module, device: torch.device):
        self.manifest = manifest
        self.module = module
        self.device = device

    @property
    def takes_images(self) -> bool:
        return self.manifest.image_input is not None

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            output = self.module(torch.from_numpy(batch).to(self.device))
        result: np.ndarray = output.reshape(len(batch), -1).double().cpu().numpy()
        return result

    def predict(self, batch: Sequence[Mapping[str, object]]) -> list[ModelResultDict]:
        """One result per record, in order; invalid records get {"error": ...} and skip the net.

        All valid records go through ONE forward pass: per-record calls would cost a
        Python round trip and a kernel launch each.
        """
        schema = self.manifest.input_schema
        if schema is None:
            raise TypeError(f"{self.manifest.name} reads images, not features")
        results: list[ModelResultDict] = [{} for _ in batch]
        valid_rows: list[int] = []
        for row, record in enumerate(batch):
            errors = validate_features(schema, record)
            if errors:
                results[row] = {"error": "; ".join(errors)}
            else:
                valid_rows.append(row)
        if valid_rows:
            outputs = self._forward(feature_matrix(schema, [batch[row] for row in valid_rows]))
            for row, output in zip(valid_rows, outputs, strict=True):
                results[row] = interpret(self.manifest.output_schema, output)
        return results

    def predict_images(self, batch: Sequence[ImageRecord]) -> list[ModelResultDict]:
        """Every frame of every usable record in one forward pass; a record's verdict is its
        most positive frame (text burned into any frame must hold the image back)."""
        if self.manifest.image_input is None:
            raise TypeError(f"{self.manifest.name} reads features, not images")
        results: list[ModelResultDict] = [{} for _ in batch]
        frames: list[np.ndarray] = []
        owners: list[int] = []
        for row, record in enumerate(batch):
            if isinstance(record, str):
                results[row] = {"error": record}
            elif not record:
                results[row] = {"error": "no frames"}
            else:
                frames.extend(record)
                owners.extend([row] * len(record))
        if frames:
            outputs = self._forward(stack_inputs(frames))
            owner_array = np.array(owners)
            for row in sorted(set(owners)):
                merged = outputs[owner_array == row].max(axis=0)
                results[row] = interpret(self.manifest.output_schema, merged)
        return results


def _sigmoid(logit: float) -> float:
    # Clamp: a huge logit would overflow math.exp; the probability is 0 or 1 anyway.
    return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, logit))))


def interpret(spec: OutputSchema, output: np.ndarray) -> ModelResultDict:
    """The module's raw output for one record -> the result fields the manifest declares."""
    value = float(output[0])
    if spec.task == "regression":
        return {spec.value_field: value}
    probability = _sigmoid(value)
    positive = probability >= spec.threshold
    result: ModelResultDict = {spec.value_field: probability}
    if spec.task == "grid_detection":
        assert spec.grid_size is not None and spec.grid_field is not None
        size = spec.grid_size
        cells = [_sigmoid(float(v)) for v in output[1 : 1 + size * size]]
        grid = [[round(p, 4) for p in cells[r * size : (r + 1) * size]] for r in range(size)]
        if spec.label_field:
            result[spec.label_field] = positive
        result[spec.grid_field] = grid
        if spec.cells_field:
            result[spec.cells_field] = [
                [r, c] for r in range(size) for c in range(size) if grid[r][c] >= spec.threshold
            ]
    elif spec.label_field:
        result[spec.label_field] = spec.positive_label if positive else spec.negative_label
    result["confidence"] = probability if positive else 1.0 - probability
    return result
