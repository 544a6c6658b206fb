"""FHIR R4 data types (the parts a case report reads): codings, references, names,
addresses, quantities. Unknown elements are ignored, never kept."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Element(BaseModel):
    # FHIR resources have far more elements than a case report uses: ignore the rest.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Coding(Element):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(Element):
    coding: list[Coding] = Field(default_factory=list)
    text: str | None = None


class Reference(Element):
    reference: str | None = None
    display: str | None = None


class Narrative(Element):
    status: Literal["generated", "extensions", "additional", "empty"]
    div: str


class Identifier(Element):
    system: str | None = None
    value: str | None = None
    type: CodeableConcept | None = None


class HumanName(Element):
    text: str | None = None
    family: str | None = None
    given: list[str] = Field(default_factory=list)
    prefix: list[str] = Field(default_factory=list)
    suffix: list[str] = Field(default_factory=list)


class ContactPoint(Element):
    system: Literal["phone", "fax", "email", "pager", "url", "sms", "other"] | None = None
    value: str | None = None


class FhirAddress(Element):
    line: list[str] = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    country: str | None = None


class Period(Element):
    start: str | None = None
    end: str | None = None


class Quantity(Element):
    value: float
    unit: str | None = None
    code: str | None = None


class Annotation(Element):
    text: str


class PatientContact(Element):
    """Patient.contact: a relative or guardian, whose name a note may repeat."""

    name: HumanName | None = None
    telecom: list[ContactPoint] = Field(default_factory=list)
    address: FhirAddress | None = None
