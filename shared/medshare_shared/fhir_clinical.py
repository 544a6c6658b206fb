"""The clinical FHIR R4 resources a case report reads besides Patient, Encounter,
Condition, Observation and DiagnosticReport, and what it takes from them.

Procedure, MedicationRequest/Statement, AllergyIntolerance and Immunization give
coded facts (their display names go into the report's summary); their notes and a
DocumentReference's plain-text attachments are free text and go into the report's
`notes`, which the anonymizer scrubs like any other note. Any other resource type
(Claim, ExplanationOfBenefit, Practitioner, Organization, ...) is accepted and
skipped: only its type is counted, never its content.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Element(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Coding(_Element):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class _Concept(_Element):
    coding: list[_Coding] = Field(default_factory=list)
    text: str | None = None

    def display(self) -> str | None:
        shown = [c.display for c in self.coding if c.display]
        return shown[0] if shown else None


class _Note(_Element):
    text: str = ""


class _Attachment(_Element):
    content_type: str | None = Field(default=None, alias="contentType")
    data: str | None = None


class _Content(_Element):
    attachment: _Attachment | None = None


class Clinical(_Element):
    """One of the coded clinical resources; `heading` says where its summary line goes."""

    resource_type: Literal[
        "Procedure",
        "MedicationRequest",
        "MedicationStatement",
        "AllergyIntolerance",
        "Immunization",
        "DocumentReference",
    ] = Field(alias="resourceType")
    code: _Concept | None = None
    medication_codeable_concept: _Concept | None = Field(
        default=None, alias="medicationCodeableConcept"
    )
    vaccine_code: _Concept | None = Field(default=None, alias="vaccineCode")
    note: list[_Note] = Field(default_factory=list)
    content: list[_Content] = Field(default_factory=list)

    def coded(self) -> str | None:
        concept = self.code or self.medication_codeable_concept or self.vaccine_code
        return concept.display() if concept is not None else None

    def free_text(self) -> list[str]:
        """Notes and plain-text attachments: free text, for the anonymizer to scrub."""
        texts = [note.text for note in self.note if note.text.strip()]
        for item in self.content:
            attachment = item.attachment
            if attachment is None or not attachment.data:
                continue
            if not (attachment.content_type or "text/plain").startswith("text/plain"):
                continue
            try:
                texts.append(base64.b64decode(attachment.data, validate=False).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue  # not text after all: skipped rather than passed through
        return texts


HEADINGS = {
    "Procedure": "Procedures",
    "MedicationRequest": "Medications",
    "MedicationStatement": "Medications",
    "AllergyIntolerance": "Allergies",
    "Immunization": "Immunizations",
}


def summary(clinical: list[Clinical]) -> list[str]:
    """One line per heading: the distinct coded display names, in order of appearance."""
    by_heading: dict[str, list[str]] = {}
    for resource in clinical:
        heading = HEADINGS.get(resource.resource_type)
        shown = resource.coded()
        if heading and shown and shown not in by_heading.setdefault(heading, []):
            by_heading[heading].append(shown)
    return [f"{heading}: {'; '.join(names)}" for heading, names in by_heading.items() if names]
