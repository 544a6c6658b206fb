"""LoadedModel.predict: one forward pass per batch, per-record errors, results in order."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest
import torch

from medshare_inference.models import TrainedModel
from medshare_inference.models.breast_cancer import load_data as load_cytology
from medshare_inference.models.diabetes import load_data as load_metabolic
from medshare_inference.registry import LoadedModel
from medshare_shared.case_report import CYTOLOGY_FEATURES, METABOLIC_FEATURES

from .conftest import loaded


class ForwardCounter:
    def __init__(self, model: LoadedModel):
        self.calls: list[int] = []
        self.handle = model.module.register_forward_hook(self.hook)

    def hook(self, module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
        self.calls.append(inputs[0].shape[0])


def cytology_records(rows: slice) -> tuple[list[dict[str, float]], np.ndarray]:
    x, y = load_cytology()
    return [dict(zip(CYTOLOGY_FEATURES, map(float, r), strict=True)) for r in x[rows]], y[rows]


def test_batch_runs_one_forward_pass(classifier: TrainedModel) -> None:
    model = loaded(classifier)
    records, _ = cytology_records(slice(0, 40))
    counter = ForwardCounter(model)
    try:
        results = model.predict(records)
    finally:
        counter.handle.remove()
    assert counter.calls == [40]
    assert len(results) == 40


def test_invalid_records_get_errors_in_place_and_skip_the_network(
    classifier: TrainedModel,
) -> None:
    model = loaded(classifier)
    records, _ = cytology_records(slice(0, 5))
    records[1] = {k: v for k, v in records[1].items() if k != "mean_radius"}
    records[3] = {**records[3], "worst_area": 1e9}
    counter = ForwardCounter(model)
    try:
        results = model.predict(records)
    finally:
        counter.handle.remove()
    assert counter.calls == [3]
    assert results[1] == {"error": "missing field: mean_radius"}
    assert str(results[3]["error"]).startswith("out of range: worst_area=1000000000.0 (expected ")
    for index in (0, 2, 4):
        assert "error" not in results[index]
        alone = model.predict([records[index]])[0]  # same row, same answer (up to float noise)
        assert results[index]["label"] == alone["label"]
        assert results[index]["malignancy_probability"] == pytest.approx(
            alone["malignancy_probability"], abs=1e-6
        )


def test_all_invalid_or_empty_batch_runs_no_forward_pass(regressor: TrainedModel) -> None:
    model = loaded(regressor)
    counter = ForwardCounter(model)
    try:
        assert model.predict([]) == []
        assert model.predict([{}, {"bmi": 20.0}]) == [
            {"error": "; ".join(f"missing field: {n}" for n in METABOLIC_FEATURES)},
            {"error": "; ".join(f"missing field: {n}" for n in METABOLIC_FEATURES if n != "bmi")},
        ]
    finally:
        counter.handle.remove()
    assert counter.calls == []


def test_classifier_outputs_label_probability_and_confidence(classifier: TrainedModel) -> None:
    model = loaded(classifier)
    records, malignant = cytology_records(slice(0, 120))
    results = model.predict(records)
    labels = np.array([r["label"] == "malignant" for r in results])
    # Rows the model mostly saw in training: labels must agree with the data (not be flipped).
    assert (labels == (malignant == 1)).mean() > 0.95
    for result in results:
        p = cast(float, result["malignancy_probability"])
        assert 0.0 <= p <= 1.0
        assert result["label"] == ("malignant" if p >= 0.5 else "benign")
        assert result["confidence"] == pytest.approx(max(p, 1 - p))
        assert set(result) == {"malignancy_probability", "label", "confidence"}


def test_regressor_outputs_progression_score_in_raw_units(regressor: TrainedModel) -> None:
    model = loaded(regressor)
    x, y = load_metabolic()
    records = [dict(zip(METABOLIC_FEATURES, map(float, row), strict=True)) for row in x[:50]]
    results = model.predict(records)
    scores = np.array([cast(float, r["progression_score"]) for r in results])
    assert set(results[0]) == {"progression_score"}
    assert scores.min() > 0 and scores.max() < 400
    assert np.corrcoef(scores, y[:50])[0, 1] > 0.5
