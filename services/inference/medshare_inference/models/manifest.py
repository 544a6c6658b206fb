"""What a registered model declares about itself: the manifest stored next to its weights.

Everything the service needs to rebuild, check, route to and interpret a model lives
here, so serving code has no per-model branches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medshare_inference.features import InputSchema
from medshare_shared.events import RecordKind

# Names and versions become object-key segments: keep them to a safe alphabet.
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
VERSION_PATTERN = r"^\d+\.\d+\.\d+$"


class AppliesTo(BaseModel):
    """One kind of record a model is meant for.

    `requires` names a feature group of the input schema ("cytology"): the record must carry
    features of that group. `modalities` restricts DICOM models to some modalities.
    `requires_metadata` names metadata fields that must be present and not null (an image
    model asks for "rows" and "columns": a structured report or a plan has no pixels).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RecordKind
    requires: str | None = None
    modalities: list[str] | None = None
    requires_metadata: list[str] | None = None


class ImageInput(BaseModel):
    """An image model's input: the de-identified object's pixels, prepared by models.images.

    `frames` frames spread over a clip are run and the verdict is the most positive one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["shared_object"] = "shared_object"
    size: int = Field(ge=16, le=2048)
    frames: int = Field(default=3, ge=1, le=64)
    preprocessing: str = "grey (luminance), area downscale to size x size, 0.5-99.5 % window"


class Architecture(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class OutputField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["float", "str", "bool", "grid"]
    unit: str = ""
    description: str = ""


class OutputSchema(BaseModel):
    """How the module's raw output becomes a result dict.

    binary_classification: the module returns one logit; `value_field` holds the sigmoid
    probability of `positive_label`, `label_field` the thresholded label, and the
    confidence is the probability of the label given.
    regression: the module returns the value in target units, stored as `value_field`.
    grid_detection: the module returns 1 + grid_size² logits (the image, then the cells row
    by row); `value_field` holds p(image positive), `label_field` the thresholded verdict
    (true/false), `grid_field` the cell probabilities and `cells_field` the [row, column]
    of each cell at or over the threshold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["binary_classification", "regression", "grid_detection"]
    value_field: str
    label_field: str | None = None
    positive_label: str | None = None
    negative_label: str | None = None
    threshold: float = 0.5
    grid_field: str | None = None
    cells_field: str | None = None
    grid_size: int | None = Field(default=None, ge=1, le=64)
    fields: list[OutputField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _grid_needs_a_size(self) -> OutputSchema:
        if self.task == "grid_detection" and not (self.grid_size and self.grid_field):
            raise ValueError("grid_detection needs grid_size and grid_field")
        return self


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
    # Exactly one of the two: named features of the event, or the object's pixels.
    input_schema: InputSchema | None = None
    image_input: ImageInput | None = None
    output_schema: OutputSchema
    applies_to: list[AppliesTo] = Field(min_length=1)
    training_data: TrainingData
    metrics: dict[str, float] = Field(default_factory=dict)
    framework: str = ""
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _one_input(self) -> ModelManifest:
        if (self.input_schema is None) == (self.image_input is None):
            raise ValueError("a manifest declares exactly one of input_schema and image_input")
        return self


def version_key(version: str) -> tuple[int, ...]:
    """Numeric ordering for "1.0.10" > "1.0.9"."""
    return tuple(int(part) for part in version.split("."))


def next_patch(versions: list[str]) -> str:
    if not versions:
        return "1.0.0"
    major, minor, patch = version_key(max(versions, key=version_key))
    return f"{major}.{minor}.{patch + 1}"
