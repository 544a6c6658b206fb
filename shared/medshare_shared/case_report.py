"""The project's JSON case-report schema (version 1).

A case report is what a clinic sends about one patient encounter: who the patient
is (PHI, removed by the anonymizer), coded diagnoses, structured measurements the
risk models read, and free-text notes. FHIR R4 Bundles are mapped onto this shape.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sex = Literal["F", "M", "O", "U"]

# The measurements a case report may carry, by section: what the anonymizer passes on and
# FHIR Observations map to. Which of them a model reads, in which order, is the model's
# own input schema (medshare_inference.models); a model reading a new measurement needs
# it named here first, or de-identification drops it.
# Fine-needle-aspirate cytology: three statistics of ten nucleus measures.
CYTOLOGY_MEASURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)
CYTOLOGY_FEATURES: tuple[str, ...] = tuple(
    f"{stat}_{measure}" for stat in ("mean", "se", "worst") for measure in CYTOLOGY_MEASURES
)

# Metabolic baseline panel: age, sex, BMI, blood pressure and six serum values.
METABOLIC_FEATURES: tuple[str, ...] = (
    "age",
    "sex",
    "bmi",
    "bp",
    "tc",
    "ldl",
    "hdl",
    "tch",
    "ltg",
    "glu",
)


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: list[str] = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Contact(BaseModel):
    """A relative or other contact of the patient (FHIR Patient.contact): PHI, never released."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: Address | None = None


class Patient(BaseModel):
    """Identifying details: all of it is PHI and never leaves the anonymizer."""

    model_config = ConfigDict(extra="forbid")

    patient_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    birth_date: date | None = None
    sex: Sex = "U"
    address: Address | None = None
    phone: str | None = None
    email: str | None = None
    ssn: str | None = None
    medical_record_number: str | None = None
    health_plan_number: str | None = None
    contacts: list[Contact] = Field(default_factory=list)


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str = "http://hl7.org/fhir/sid/icd-10"
    code: str = Field(min_length=1)
    display: str | None = None


class CaseReport(BaseModel):
    """One encounter's case report as institutions submit it."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    report_id: str = Field(min_length=1)
    patient: Patient
    encounter_date: date
    facility: str | None = None
    physician: str | None = None
    diagnoses: list[Code] = Field(default_factory=list)
    cytology: dict[str, float] | None = None
    metabolic: dict[str, float] | None = None
    notes: str = ""
