"""Per-record input validation against a manifest's input schema."""

from __future__ import annotations

import math

import numpy as np

from medshare_inference.features import (
    FeatureSpec,
    InputSchema,
    derive_schema,
    feature_matrix,
    validate_features,
)
from medshare_inference.models import TrainedModel
from medshare_shared.case_report import CYTOLOGY_FEATURES, METABOLIC_FEATURES

SCHEMA = InputSchema(
    features=[
        FeatureSpec(name="bmi", minimum=10, maximum=60, unit="kg/m²"),
        FeatureSpec(name="sex", minimum=0.5, maximum=2.5, allowed=[1, 2]),
        FeatureSpec(name="glu", minimum=25, maximum=160),
    ]
)


def test_valid_record_has_no_errors_and_extra_fields_are_ignored() -> None:
    assert validate_features(SCHEMA, {"bmi": 25.1, "sex": 2, "glu": 90, "mean_radius": 9}) == []


def test_missing_and_out_of_range_fields_are_named() -> None:
    errors = validate_features(SCHEMA, {"bmi": 95.0, "sex": 1.0})
    assert errors == ["out of range: bmi=95.0 (expected 10..60)", "missing field: glu"]


def test_not_a_number_not_finite_and_invalid_code() -> None:
    errors = validate_features(SCHEMA, {"bmi": "fat", "sex": 3.0, "glu": math.nan})
    assert errors == [
        "not a number: bmi='fat'",
        "invalid value: sex=3.0 (expected one of 1, 2)",
        "not finite: glu=nan",
    ]
    assert validate_features(SCHEMA, {"bmi": True, "sex": 1, "glu": None}) == [
        "not a number: bmi=True",
        "missing field: glu",
    ]


def test_bounds_are_inclusive() -> None:
    assert validate_features(SCHEMA, {"bmi": 10, "sex": 1, "glu": 160.0}) == []


def test_feature_matrix_follows_schema_order() -> None:
    matrix = feature_matrix(SCHEMA, [{"glu": 3, "sex": 2, "bmi": 1}])
    assert matrix.dtype == np.float32
    assert matrix.tolist() == [[1.0, 2.0, 3.0]]


def test_derived_ranges_widen_the_data_and_round_outward() -> None:
    data = np.array([[18.0, 1.0], [42.2, 2.0]])
    schema = derive_schema(
        data, ["bmi", "sex"], {"bmi": "kg/m²"}, {}, group="metabolic", categorical={"sex": [1, 2]}
    )
    bmi, sex = schema.features
    assert (bmi.minimum, bmi.maximum, bmi.unit, bmi.group) == (5.9, 55.0, "kg/m²", "metabolic")
    assert bmi.minimum <= 18.0 - 12.1 and bmi.maximum >= 42.2 + 12.1
    assert sex.allowed == [1.0, 2.0]


def test_manifest_schemas_cover_the_case_report_features(
    classifier: TrainedModel, regressor: TrainedModel
) -> None:
    assert tuple(classifier.manifest.input_schema.names) == CYTOLOGY_FEATURES
    assert tuple(regressor.manifest.input_schema.names) == METABOLIC_FEATURES
    bmi = next(f for f in regressor.manifest.input_schema.features if f.name == "bmi")
    assert bmi.unit == "kg/m²" and bmi.minimum < 18 and 42.2 < bmi.maximum < 95
    errors = validate_features(regressor.manifest.input_schema, {"bmi": 95.0})
    expected = f"{bmi.minimum:g}..{bmi.maximum:g}"
    assert f"out of range: bmi=95.0 (expected {expected})" in errors
    assert "missing field: age" in errors
