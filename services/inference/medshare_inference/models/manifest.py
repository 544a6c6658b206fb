"""What a registered model declares about itself: the manifest stored next to its weights.

Everything the service needs to rebuild, check, route to and interpret a model lives
here, so serving code has no per-model branches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medshare_inference.features import InputSchema
from medshare_shared.events import RecordKind

# Names and versions become object-key segments: keep them to a safe alphabet.
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
VERSION_PATTERN = r"^\d+\.\d+\.\d+$"


class AppliesTo(BaseModel):
    """One kind of record a model is meant for.

    `requires` names a feature group of the input schema ("cytology"): the record must carry
    features of that group. `modalities` restricts DICOM models to some modalities.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RecordKind
    requires: str | None = None
    modalities: list[str] | None = None


class Architecture(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class OutputField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["float", "str"]
    unit: str = ""
    description: str = ""


class OutputSchema(BaseModel):
    """How the module's raw output becomes a result dict.

    binary_classification: the module returns one logit; `value_field` holds the sigmoid
    probability of `positive_label`, `label_field` the thresholded label, and the
    confidence is the probability of the label given.
    regression: the module returns the value in target units, stored as `value_field`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["binary_classification", "regression"]
    value_field: str
    label_field: str | None = None
    positive_label: str | None = None
    negative_label: str | None = None
    threshold: float = 0.5
    fields: list[OutputField] = Field(default_factory=list)


class TrainingData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    n: int
    n_train: int
    n_test: int
    split: str
    seed: int
    target: str


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    schema_version: Literal[1] = 1
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN)
    description: str = ""
    # Filled in by ModelRegistry.register: SHA-256 of weights.pt exactly as stored.
    sha256: str = ""
    architecture: Architecture
    input_schema: InputSchema
    output_schema: OutputSchema
    applies_to: list[AppliesTo] = Field(min_length=1)
    training_data: TrainingData
    metrics: dict[str, float] = Field(default_factory=dict)
    framework: str = ""
    created_at: datetime | None = None


def version_key(version: str) -> tuple[int, ...]:
    """Numeric ordering for "1.0.10" > "1.0.9"."""
    return tuple(int(part) for part in version.split("."))


def next_patch(versions: list[str]) -> str:
    if not versions:
        return "1.0.0"
    major, minor, patch = version_key(max(versions, key=version_key))
    return f"{major}.{minor}.{patch + 1}"
