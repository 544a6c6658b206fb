"""The typed shape of a search: what `POST /datasets` stores and a stored query must keep.

Every field is a scalar or a bounded list of scalars, strings have bounded lengths
and unknown keys are refused, so a client's JSON can never reach the database as
an operator (`{"model": {"$ne": ...}}`) or as a pattern of its own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

MAX_VALUES = 50
Word = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.\-]+\*?$")
]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
]
Year = Annotated[int, Field(ge=1800, le=2200)]


class QueryError(ValueError):
    """A search parameter that cannot be used; the message names it."""


class QueryFilters(BaseModel):
    """The /records filters, typed (the same fields as `SearchQuery`)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    kind: list[Literal["dicom", "case_report"]] = Field(default_factory=list, max_length=2)
    modality: list[Word] = Field(default_factory=list, max_length=MAX_VALUES)
    body_part: list[Word] = Field(default_factory=list, max_length=MAX_VALUES)
    study_year: list[Year] = Field(default_factory=list, max_length=MAX_VALUES)
    year_from: Year | None = None
    year_to: Year | None = None
    age_band: list[Word] = Field(default_factory=list, max_length=MAX_VALUES)
    sex: list[Literal["F", "M", "O", "U", "f", "m", "o", "u"]] = Field(
        default_factory=list, max_length=4
    )
    institution: list[Name] = Field(default_factory=list, max_length=MAX_VALUES)
    zip3: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]] = Field(
        default_factory=list, max_length=MAX_VALUES
    )
    diagnosis: list[Code] = Field(default_factory=list, max_length=MAX_VALUES)
    model: Name | None = None
    model_version: Name | None = None
    output: (
        Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")] | None
    ) = None
    output_min: float | None = None
    output_max: float | None = None
    output_value: Annotated[str, StringConstraints(max_length=64)] | None = None
    release: list[Literal["released", "withheld", "rejected", "pending"]] = Field(
        default_factory=list, max_length=4
    )
    q: Annotated[str, StringConstraints(max_length=300)] | None = None


def short_reason(error: ValidationError) -> str:
    """The first problems of a validation error, by field, without echoing the input."""
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(p) for p in problem["loc"]) or "query"
        parts.append(f"{where}: {problem['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
