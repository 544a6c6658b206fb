"""Training: deterministic for a seed, and good enough on the held-out split."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from medshare_inference.models import TrainedModel, UnknownModelError, train_model
from medshare_inference.models.breast_cancer import load_data as load_cytology
from medshare_inference.models.breast_cancer import sklearn_column
from medshare_inference.models.mlp import serialize_weights
from medshare_inference.models.training import expected_calibration_error


def weights_hash(trained: TrainedModel) -> str:
    return hashlib.sha256(serialize_weights(trained.module)).hexdigest()


@pytest.mark.parametrize("name", ["breast-cancer-malignancy", "diabetes-progression"])
def test_same_seed_gives_identical_metrics_and_weights(name: str) -> None:
    first, second = train_model(name, seed=11), train_model(name, seed=11)
    assert first.manifest.metrics == second.manifest.metrics
    assert weights_hash(first) == weights_hash(second)
    assert first.manifest.input_schema == second.manifest.input_schema


def test_other_seed_gives_other_split_and_weights() -> None:
    first = train_model("diabetes-progression", seed=1)
    second = train_model("diabetes-progression", seed=2)
    assert weights_hash(first) != weights_hash(second)


def test_training_restores_global_torch_settings() -> None:
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    train_model("diabetes-progression", seed=3)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_classifier_metrics(classifier: TrainedModel) -> None:
    metrics = classifier.manifest.metrics
    assert metrics["roc_auc"] > 0.95
    assert 0 <= metrics["brier"] < 0.08
    assert 0 <= metrics["ece"] < 0.1
    assert metrics["accuracy"] > 0.9
    data = classifier.manifest.training_data
    assert (data.n, data.n_train, data.n_test) == (569, 426, 143)


def test_regressor_metrics(regressor: TrainedModel) -> None:
    metrics = regressor.manifest.metrics
    assert metrics["r2"] > 0.3
    assert 0 < metrics["mae"] < 60  # target spans 25..346, sd about 77
    assert regressor.manifest.training_data.n == 442


def test_split_is_stratified(classifier: TrainedModel) -> None:
    _, y = load_cytology()
    assert classifier.test_targets.mean() == pytest.approx(y.mean(), abs=0.01)


def test_malignant_is_the_positive_class() -> None:
    from sklearn.datasets import load_breast_cancer

    x, y = load_cytology()
    bunch = load_breast_cancer()
    # sklearn codes malignant as 0; ours must be 1, with the same number of cases (212).
    assert y.sum() == (bunch.target == 0).sum() == 212
    assert sklearn_column("se_concave_points") == "concave points error"
    assert sklearn_column("worst_fractal_dimension") == "worst fractal dimension"
    assert np.array_equal(x[:, 0], bunch.data[:, list(bunch.feature_names).index("mean radius")])


def test_expected_calibration_error() -> None:
    y = np.array([0, 0, 1, 1], dtype=float)
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    # Every prediction 0.5, half positive: perfectly calibrated on average.
    assert expected_calibration_error(y, np.full(4, 0.5)) == pytest.approx(0.0)
    # Confidently wrong everywhere: the worst case.
    assert expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(1.0)


def test_unknown_model_name() -> None:
    with pytest.raises(UnknownModelError):
        train_model("no-such-model")
