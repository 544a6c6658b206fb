"""Model input schemas: which features a model reads, their units and plausible ranges.

Ranges come from the training data widened by a margin, so a record the model has
nothing to say about (a unit mix-up, a typo, a missing field) gets a per-record error
instead of a confident-looking guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class FeatureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    minimum: float
    maximum: float
    unit: str = ""
    description: str = ""
    # The record section the feature comes from ("cytology", "metabolic"); see select_models.
    group: str = ""
    # Categorical codes (e.g. sex 1/2): only these values are accepted.
    allowed: list[float] | None = None


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[FeatureSpec] = Field(min_length=1)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.features]

    @property
    def groups(self) -> set[str]:
        return {spec.group for spec in self.features if spec.group}


def _format_bound(value: float) -> str:
    return f"{value:g}"


def validate_features(spec: InputSchema, features: Mapping[str, object]) -> list[str]:
    """Every problem with one record, in schema order; empty when the record is usable.

    Fields the schema does not name are ignored: one record may carry inputs of several models.
    """
    errors: list[str] = []
    for feature in spec.features:
        if feature.name not in features or features[feature.name] is None:
            errors.append(f"missing field: {feature.name}")
            continue
        raw = features[feature.name]
        # bool is an int subclass; a True where a measurement belongs is a mistake, not 1.0.
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            errors.append(f"not a number: {feature.name}={raw!r}")
            continue
        value = float(raw)
        if not math.isfinite(value):
            errors.append(f"not finite: {feature.name}={value!r}")
        elif feature.allowed is not None and value not in feature.allowed:
            expected = ", ".join(_format_bound(v) for v in feature.allowed)
            errors.append(f"invalid value: {feature.name}={value!r} (expected one of {expected})")
        elif not feature.minimum <= value <= feature.maximum:
            errors.append(
                f"out of range: {feature.name}={value!r} (expected "
                f"{_format_bound(feature.minimum)}..{_format_bound(feature.maximum)})"
            )
    return errors


def feature_matrix(spec: InputSchema, records: Sequence[Mapping[str, object]]) -> np.ndarray:
    """Rows in schema column order (float32); call only with records that validated."""
    names = spec.names
    matrix = np.empty((len(records), len(names)), dtype=np.float32)
    for row, record in enumerate(records):
        matrix[row] = [float(record[name]) for name in names]  # type: ignore[arg-type]
    return matrix


def _round_outward(value: float, up: bool, digits: int = 2) -> float:
    """Round to `digits` significant digits away from the data (floor for lows, ceil for highs)."""
    value = float(f"{value:.10g}")  # 18 - 12.1 is 5.8999999...; floor that to 5.9, not 5.8
    if value == 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(abs(value))) - digits + 1)
    rounded = (math.ceil if up else math.floor)(value / scale) * scale
    return float(f"{rounded:.{digits + 2}g}")  # drop binary noise such as 54.99999999


def derive_schema(
    data: np.ndarray,
    names: Sequence[str],
    units: Mapping[str, str],
    descriptions: Mapping[str, str],
    group: str,
    margin: float = 0.5,
    categorical: Mapping[str, Sequence[float]] | None = None,
) -> InputSchema:
    """Ranges from the observed min/max widened by `margin` of the span on each side.

    All features used here are non-negative measurements, so lower bounds stop at zero.
    """
    categorical = categorical or {}
    specs = []
    for column, name in enumerate(names):
        low, high = float(data[:, column].min()), float(data[:, column].max())
        span = high - low or abs(high) or 1.0
        allowed = categorical.get(name)
        specs.append(
            FeatureSpec(
                name=name,
                minimum=max(0.0, _round_outward(low - margin * span, up=False)),
                maximum=_round_outward(high + margin * span, up=True),
                unit=units.get(name, ""),
                description=descriptions.get(name, ""),
                group=group,
                allowed=[float(v) for v in allowed] if allowed is not None else None,
            )
        )
    return InputSchema(features=specs)
