"""breast-cancer-malignancy: p(malignant) from the 30 fine-needle-aspirate cytology features.

Trained on scikit-learn's copy of the Wisconsin Diagnostic Breast Cancer set (569 real
cases). Careful: there target 0 means malignant and 1 benign; here 1 means malignant.
"""

from __future__ import annotations

import numpy as np
import torch

from medshare_inference.features import derive_schema
from medshare_inference.models.manifest import (
    AppliesTo,
    Architecture,
    ModelManifest,
    OutputField,
    OutputSchema,
    TrainingData,
)
from medshare_inference.models.mlp import StandardizedMLP
from medshare_inference.models.training import (
    DEFAULT_SEED,
    TEST_FRACTION,
    ProgressCallback,
    Stopwatch,
    TrainedModel,
    bce_loss,
    classification_metrics,
    deterministic,
    fit,
    predict_numpy,
    stratified_split,
)

NAME = "breast-cancer-malignancy"
# Logistic regression on standardised features: as good as a small MLP on this set and
# easier to audit.
HIDDEN: list[int] = []
EPOCHS = 300
LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.05

_STATS = {
    "mean": "mean over the nuclei",
    "se": "standard error over the nuclei",
    "worst": "mean of the three largest values",
}
_MEASURES = {
    "radius": ("px", "mean distance from centre to perimeter points"),
    "texture": ("grey levels", "standard deviation of grey-scale values"),
    "perimeter": ("px", "nucleus perimeter"),
    "area": ("px²", "nucleus area"),
    "smoothness": ("1", "local variation in radius lengths"),
    "compactness": ("1", "perimeter² / area - 1"),
    "concavity": ("1", "severity of concave portions of the contour"),
    "concave_points": ("1", "number of concave portions of the contour"),
    "symmetry": ("1", "symmetry of the nucleus"),
    "fractal_dimension": ("1", "coastline approximation - 1"),
}
# The model's inputs, in the order it reads them: every statistic of every measure.
INPUTS: tuple[str, ...] = tuple(f"{stat}_{measure}" for stat in _STATS for measure in _MEASURES)


def sklearn_column(feature: str) -> str:
    """ "mean_radius" -> "mean radius", "se_texture" -> "texture error", "worst_area" -> ..."""
    stat, _, measure = feature.partition("_")
    words = measure.replace("_", " ")
    return f"{words} error" if stat == "se" else f"{stat} {words}"


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """(features in INPUTS order, 1 = malignant)."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    columns = list(bunch.feature_names)
    order = [columns.index(sklearn_column(name)) for name in INPUTS]
    malignant = int(list(bunch.target_names).index("malignant"))
    return bunch.data[:, order].astype(np.float64), (bunch.target == malignant).astype(np.float64)


def _metadata() -> tuple[dict[str, str], dict[str, str]]:
    units, descriptions = {}, {}
    for stat, stat_text in _STATS.items():
        for measure, (unit, text) in _MEASURES.items():
            units[f"{stat}_{measure}"] = unit
            descriptions[f"{stat}_{measure}"] = f"{text} ({stat_text})"
    return units, descriptions


def train(
    seed: int = DEFAULT_SEED, version: str = "1.0.0", progress: ProgressCallback | None = None
) -> TrainedModel:
    clock = Stopwatch()
    x, y = load_data()
    x_train, x_test, y_train, y_test = stratified_split(x, y, strata=y, seed=seed)
    units, descriptions = _metadata()
    schema = derive_schema(x_train, INPUTS, units, descriptions, group="cytology")
    with deterministic(seed):
        module = StandardizedMLP(len(INPUTS), HIDDEN, 1)
        features = torch.from_numpy(x_train.astype(np.float32))
        target = torch.from_numpy(y_train.astype(np.float32)).reshape(-1, 1)
        module.fit_standardization(features)
        fit(module, features, target, bce_loss(), EPOCHS, LEARNING_RATE, WEIGHT_DECAY, progress)
        probability = torch.sigmoid(torch.from_numpy(predict_numpy(module, x_test))).numpy()
    manifest = ModelManifest(
        name=NAME,
        version=version,
        description="Probability that a breast mass is malignant, from FNA cytology features.",
        architecture=Architecture(
            id=StandardizedMLP.ARCHITECTURE_ID,
            kwargs={"n_features": len(INPUTS), "hidden": HIDDEN, "n_outputs": 1},
        ),
        input_schema=schema,
        output_schema=OutputSchema(
            task="binary_classification",
            value_field="malignancy_probability",
            label_field="label",
            positive_label="malignant",
            negative_label="benign",
            fields=[
                OutputField(
                    name="malignancy_probability", type="float", description="p(malignant), 0..1"
                ),
                OutputField(name="label", type="str", description="malignant | benign"),
            ],
        ),
        applies_to=[AppliesTo(kind="case_report", requires="cytology")],
        training_data=TrainingData(
            source="sklearn.datasets.load_breast_cancer (Wisconsin Diagnostic Breast Cancer)",
            n=len(x),
            n_train=len(x_train),
            n_test=len(x_test),
            split=f"stratified by label, test fraction {TEST_FRACTION}",
            seed=seed,
            target="malignant (1) vs benign (0)",
        ),
        metrics=classification_metrics(y_test, probability),
        framework=f"torch {torch.__version__}",
    )
    return TrainedModel(module, manifest, clock.seconds, y_test, probability)
