"""diabetes-progression: disease progression one year after baseline from 10 baseline values.

Trained on scikit-learn's diabetes set (442 patients, Efron et al. 2004) in raw units
(`scaled=False`); the target is a quantitative progression score (25..346).
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
    deterministic,
    fit,
    predict_numpy,
    quantile_strata,
    regression_metrics,
    standardized_mse,
    stratified_split,
)

NAME = "diabetes-progression"
# A linear model: on a few hundred training rows hidden layers overfit.
HIDDEN: list[int] = []
EPOCHS = 400
LEARNING_RATE = 0.05
WEIGHT_DECAY = 0.01

# case_report name -> (sklearn column, unit, description)
COLUMNS = {
    "age": ("age", "years", "age at baseline"),
    "sex": ("sex", "code", "sex as coded in the source data (1 or 2)"),
    "bmi": ("bmi", "kg/m²", "body-mass index"),
    "bp": ("bp", "mmHg", "average blood pressure"),
    "tc": ("s1", "mg/dL", "total serum cholesterol"),
    "ldl": ("s2", "mg/dL", "low-density lipoproteins"),
    "hdl": ("s3", "mg/dL", "high-density lipoproteins"),
    "tch": ("s4", "ratio", "total cholesterol / HDL"),
    "ltg": ("s5", "log", "log of serum triglycerides level"),
    "glu": ("s6", "mg/dL", "blood sugar level"),
}
# The model's inputs, in the order it reads them.
INPUTS: tuple[str, ...] = tuple(COLUMNS)


def load_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    columns = list(bunch.feature_names)
    order = [columns.index(COLUMNS[name][0]) for name in INPUTS]
    return bunch.data[:, order].astype(np.float64), bunch.target.astype(np.float64)


def train(
    seed: int = DEFAULT_SEED, version: str = "1.0.0", progress: ProgressCallback | None = None
) -> TrainedModel:
    clock = Stopwatch()
    x, y = load_data()
    x_train, x_test, y_train, y_test = stratified_split(x, y, quantile_strata(y), seed=seed)
    schema = derive_schema(
        x_train,
        INPUTS,
        units={name: unit for name, (_, unit, _) in COLUMNS.items()},
        descriptions={name: text for name, (_, _, text) in COLUMNS.items()},
        group="metabolic",
        categorical={"sex": sorted({float(v) for v in x[:, INPUTS.index("sex")]})},
    )
    with deterministic(seed):
        module = StandardizedMLP(len(INPUTS), HIDDEN, 1)
        features = torch.from_numpy(x_train.astype(np.float32))
        target = torch.from_numpy(y_train.astype(np.float32)).reshape(-1, 1)
        module.fit_standardization(features, target)
        loss = standardized_mse(module)
        fit(module, features, target, loss, EPOCHS, LEARNING_RATE, WEIGHT_DECAY, progress)
        predicted = predict_numpy(module, x_test)
    manifest = ModelManifest(
        name=NAME,
        version=version,
        description="Quantitative diabetes progression one year after baseline.",
        architecture=Architecture(
            id=StandardizedMLP.ARCHITECTURE_ID,
            kwargs={"n_features": len(INPUTS), "hidden": HIDDEN, "n_outputs": 1},
        ),
        input_schema=schema,
        output_schema=OutputSchema(
            task="regression",
            value_field="progression_score",
            fields=[
                OutputField(
                    name="progression_score",
                    type="float",
                    unit="score (25..346)",
                    description="disease progression one year after baseline",
                ),
            ],
        ),
        applies_to=[AppliesTo(kind="case_report", requires="metabolic")],
        training_data=TrainingData(
            source="sklearn.datasets.load_diabetes(scaled=False) (Efron et al. 2004)",
            n=len(x),
            n_train=len(x_train),
            n_test=len(x_test),
            split=f"stratified by target quintile, test fraction {TEST_FRACTION}",
            seed=seed,
            target="progression score one year after baseline",
        ),
        metrics=regression_metrics(y_test, predicted),
        framework=f"torch {torch.__version__}",
    )
    return TrainedModel(module, manifest, clock.seconds, y_test, predicted)
