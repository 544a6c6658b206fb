"""Image models in serving: one forward pass for every frame of a batch, the most positive
frame decides, per-record errors stay in place, and grid outputs follow the manifest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from medshare_inference.models.manifest import (
    AppliesTo,
    Architecture,
    ImageInput,
    ModelManifest,
    OutputSchema,
    TrainingData,
)
from medshare_inference.models.text_detector_net import BurnedInTextNet
from medshare_inference.serving import LoadedModel, interpret

GRID = OutputSchema(
    task="grid_detection",
    value_field="probability",
    label_field="has_text",
    grid_field="grid",
    cells_field="text_cells",
    grid_size=2,
    threshold=0.5,
)


def manifest(**update: Any) -> ModelManifest:
    fields: dict[str, Any] = {
        "name": "burned-in-text",
        "version": "1.0.0",
        "architecture": Architecture(
            id=BurnedInTextNet.ARCHITECTURE_ID, kwargs={"input_size": 64, "grid": 2}
        ),
        "image_input": ImageInput(size=64, frames=3),
        "output_schema": GRID,
        "applies_to": [AppliesTo(kind="dicom", requires_metadata=["rows"])],
        "training_data": TrainingData(
            source="test", n=1, n_train=1, n_test=0, split="none", seed=0, target="text"
        ),
    }
    return ModelManifest(**{**fields, **update})


class BrightnessNet(torch.nn.Module):
    """Cell logits = 10 * (mean brightness of the cell - 0.5); image = max over cells."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cells = torch.nn.functional.avg_pool2d(x, x.shape[-1] // 2).flatten(1) * 10 - 5
        return torch.cat([cells.max(dim=1, keepdim=True).values, cells], dim=1)


def test_grid_output_follows_the_manifest() -> None:
    result = interpret(GRID, np.array([2.0, 3.0, -4.0, -1.0, 0.5]))
    assert result["has_text"] is True
    assert result["probability"] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert result["grid"] == [
        [pytest.approx(0.9526, abs=1e-4), pytest.approx(0.018, abs=1e-3)],
        [pytest.approx(0.2689, abs=1e-4), pytest.approx(0.6225, abs=1e-4)],
    ]
    assert result["text_cells"] == [[0, 0], [1, 1]]
    assert result["confidence"] == result["probability"]
    negative = interpret(GRID, np.array([-3.0, -3.0, -3.0, -3.0, -3.0]))
    assert negative["has_text"] is False and negative["text_cells"] == []
    assert negative["confidence"] == pytest.approx(1 - negative["probability"])


def test_all_frames_of_a_batch_go_through_one_forward_pass() -> None:
    model = LoadedModel(manifest(), BrightnessNet(), torch.device("cpu"))
    calls: list[int] = []
    model.module.register_forward_hook(lambda _m, inputs, _o: calls.append(inputs[0].shape[0]))
    dark = np.zeros((64, 64), np.float32)
    corner = dark.copy()
    corner[32:, 32:] = 1.0  # text-like brightness in the bottom-right cell
    results = model.predict_images(
        [[dark, dark, corner], "de-identified object not found in the shared zone", [dark], []]
    )
    assert calls == [4]  # 3 + 1 frames, one pass; the failed and empty records skip the net
    assert results[0]["has_text"] is True and results[0]["text_cells"] == [[1, 1]]
    assert results[1] == {"error": "de-identified object not found in the shared zone"}
    assert results[2]["has_text"] is False
    assert results[3] == {"error": "no frames"}


def test_inputs_are_checked_against_the_model_kind() -> None:
    model = LoadedModel(manifest(), BrightnessNet(), torch.device("cpu"))
    with pytest.raises(TypeError, match="reads images"):
        model.predict([{"x": 1.0}])


def test_manifest_declares_exactly_one_input_and_grids_need_a_size() -> None:
    with pytest.raises(ValidationError, match="exactly one of input_schema and image_input"):
        manifest(image_input=None)
    with pytest.raises(ValidationError, match="grid_size"):
        OutputSchema(task="grid_detection", value_field="p")


def test_the_real_network_emits_an_image_logit_that_is_the_max_cell() -> None:
    torch.manual_seed(0)
    net = BurnedInTextNet(input_size=128, grid=4).eval()
    with torch.inference_mode():
        output = net(torch.rand(3, 1, 128, 128))
    assert output.shape == (3, 17)
    assert torch.equal(output[:, 0], output[:, 1:].max(dim=1).values)
    with pytest.raises(ValueError, match="multiple of"):
        BurnedInTextNet(input_size=100, grid=4)
