"""FHIR R4 Bundles for case reports: validation and mapping onto `CaseReport`.

Any valid R4 Bundle is accepted. The parts of Patient, Encounter, Condition,
Observation and DiagnosticReport a case report needs are modelled here, those of
Procedure, MedicationRequest/Statement, AllergyIntolerance, Immunization and
DocumentReference in `fhir_clinical`; other elements are ignored (and so never reach
the de-identifier's output). Resources of any other type are skipped and counted by
type (`skipped_resources`). A bundle is one case report per patient: the latest
encounter dates it and its notes summarise the rest. `FhirValidationError` names
field paths and problems, never values, and at most `SHOWN_PROBLEMS` of them, so
ingest can answer 422 with it and log it.

Observation codes (LOINC, or medshare's own code system for measurements LOINC has no
code for) map to the model features of `medshare_shared.case_report`:

- system `urn:medshare:feature`, code = a CYTOLOGY_FEATURES or METABOLIC_FEATURES name
  (e.g. "mean_radius", "sex"), value taken as is;
- LOINC (see `LOINC_FEATURES`): BMI, mean blood pressure, cholesterol, LDL, HDL,
  cholesterol/HDL ratio, triglycerides (stored as their natural log, the diabetes set's
  "ltg"), glucose and age; the unit, when given, must be the one listed.
"""

from __future__ import annotations

import html
import math
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError

from medshare_shared.case_report import (
    CYTOLOGY_FEATURES,
    METABOLIC_FEATURES,
    Address,
    CaseReport,
    Code,
    Contact,
    Patient,
)
from medshare_shared.fhir_clinical import HEADINGS, Clinical, summary
from medshare_shared.fhir_types import (
    Annotation,
    CodeableConcept,
    Coding,
    ContactPoint,
    Element,
    FhirAddress,
    HumanName,
    Identifier,
    Narrative,
    PatientContact,
    Period,
    Quantity,
    Reference,
)

MEDSHARE_FEATURE_SYSTEM = "urn:medshare:feature"
LOINC = "http://loinc.org"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
# LOINC code -> (feature, expected UCUM unit, transform name)
LOINC_FEATURES: dict[str, tuple[str, str, str]] = {
    "39156-5": ("bmi", "kg/m2", "identity"),
    "8478-0": ("bp", "mm[Hg]", "identity"),
    "2093-3": ("tc", "mg/dL", "identity"),
    "2089-1": ("ldl", "mg/dL", "identity"),
    "2085-9": ("hdl", "mg/dL", "identity"),
    "9830-1": ("tch", "{ratio}", "identity"),
    "2571-8": ("ltg", "mg/dL", "ln"),
    "2345-7": ("glu", "mg/dL", "identity"),
    "30525-0": ("age", "a", "identity"),
}
_GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
_TAG = re.compile(r"<[^>]+>")
# An error message names this many problems, then counts the rest (bounded 422 bodies).
SHOWN_PROBLEMS = 5
CLINICAL_TYPES = frozenset({*HEADINGS, "DocumentReference"})
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


class FhirValidationError(ValueError):
    """A Bundle that is not valid FHIR R4 (for this project); `problems` are (path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"{path}: {message}" for path, message in problems[:SHOWN_PROBLEMS])
        more = len(problems) - SHOWN_PROBLEMS
        super().__init__(shown + (f"; and {more} more problems" if more > 0 else ""))


class _Resource(Element):
    id: str | None = None
    text: Narrative | None = None


class FhirPatient(_Resource):
    resource_type: Literal["Patient"] = Field(alias="resourceType")
    identifier: list[Identifier] = Field(default_factory=list)
    name: list[HumanName] = Field(default_factory=list)
    telecom: list[ContactPoint] = Field(default_factory=list)
    gender: Literal["male", "female", "other", "unknown"] | None = None
    birth_date: date | None = Field(default=None, alias="birthDate")
    address: list[FhirAddress] = Field(default_factory=list)
    contact: list[PatientContact] = Field(default_factory=list)


class EncounterParticipant(Element):
    individual: Reference | None = None


class FhirEncounter(_Resource):
    resource_type: Literal["Encounter"] = Field(alias="resourceType")
    status: str
    class_: Coding = Field(alias="class")
    period: Period | None = None
    participant: list[EncounterParticipant] = Field(default_factory=list)
    service_provider: Reference | None = Field(default=None, alias="serviceProvider")


class FhirCondition(_Resource):
    resource_type: Literal["Condition"] = Field(alias="resourceType")
    subject: Reference
    code: CodeableConcept | None = None
    note: list[Annotation] = Field(default_factory=list)


class FhirObservation(_Resource):
    resource_type: Literal["Observation"] = Field(alias="resourceType")
    status: str
    code: CodeableConcept
    value_quantity: Quantity | None = Field(default=None, alias="valueQuantity")
    effective_date_time: str | None = Field(default=None, alias="effectiveDateTime")
    note: list[Annotation] = Field(default_factory=list)


class FhirDiagnosticReport(_Resource):
    resource_type: Literal["DiagnosticReport"] = Field(alias="resourceType")
    status: str
    code: CodeableConcept
    effective_date_time: str | None = Field(default=None, alias="effectiveDateTime")
    issued: str | None = None
    conclusion: str | None = None
    conclusion_code: list[CodeableConcept] = Field(default_factory=list, alias="conclusionCode")


class OtherResource(Element):
    """A resource a case report does not use: only its type is read (to count it)."""

    resource_type: str = Field(alias="resourceType", pattern=_RESOURCE_TYPE.pattern)


MODELLED = ("Patient", "Encounter", "Condition", "Observation", "DiagnosticReport")


def _resource_kind(value: Any) -> str | None:
    kind = value.get("resourceType") if isinstance(value, dict) else None
    if not isinstance(kind, str) or not kind:
        return None
    if kind in MODELLED:
        return kind
    return "clinical" if kind in CLINICAL_TYPES else "other"


Resource = Annotated[
    Annotated[FhirPatient, Tag("Patient")]
    | Annotated[FhirEncounter, Tag("Encounter")]
    | Annotated[FhirCondition, Tag("Condition")]
    | Annotated[FhirObservation, Tag("Observation")]
    | Annotated[FhirDiagnosticReport, Tag("DiagnosticReport")]
    | Annotated[Clinical, Tag("clinical")]
    | Annotated[OtherResource, Tag("other")],
    Discriminator(_resource_kind),
]


class BundleEntry(Element):
    full_url: str | None = Field(default=None, alias="fullUrl")
    resource: Resource


class Bundle(Element):
    resource_type: Literal["Bundle"] = Field(alias="resourceType")
    id: str | None = None
    type: Literal["document", "collection", "transaction", "batch", "message"]
    entry: list[BundleEntry] = Field(default_factory=list)


def _path(location: tuple[int | str, ...]) -> str:
    parts = ["Bundle"]
    for index, part in enumerate(location):
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif index > 0 and location[index - 1] == "resource" and part[:1].isupper():
            parts[-1] += f"({part})"  # the discriminator tag: the resource type
        else:
            parts.append(part)
    return ".".join(parts)


def _message(error: Any) -> str:
    if error["type"] == "union_tag_invalid":
        tag = str(error.get("ctx", {}).get("tag", ""))
        # Only letters: a resource type, never free text that could carry a value.
        tag = tag if tag.isalpha() and len(tag) <= 64 else "?"
        return f"unsupported resourceType {tag}"
    if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
        return "resourceType is required"
    return str(error["msg"])


def validate_bundle(document: object) -> Bundle:
    """A parsed JSON document as a Bundle, or FhirValidationError naming each bad field."""
    if not isinstance(document, dict):
        raise FhirValidationError([("Bundle", "expected a JSON object")])
    try:
        return Bundle.model_validate(document)
    except ValidationError as error:
        problems = [(_path(issue["loc"]), _message(issue)) for issue in error.errors()]
        raise FhirValidationError(problems) from None


def _narrative_text(narrative: Narrative | None) -> str:
    if narrative is None:
        return ""
    return " ".join(html.unescape(_TAG.sub(" ", narrative.div)).split())


def _identifier_kind(identifier: Identifier) -> str:
    codes = {c.code for c in identifier.type.coding} if identifier.type else set()
    if identifier.system == SSN_SYSTEM or "SS" in codes:
        return "ssn"
    if "MR" in codes:
        return "mrn"
    if codes & {"MB", "SN"}:
        return "health_plan"
    return "other"


def _patient(resource: FhirPatient, where: str) -> Patient:
    identifiers: dict[str, str] = {}
    for identifier in resource.identifier:
        if identifier.value:
            identifiers.setdefault(_identifier_kind(identifier), identifier.value)
    # The MRN first: it is what a PACS stores as PatientID, so an image and a case
    # report of the same patient get the same pseudonym.
    patient_id = identifiers.get("mrn") or identifiers.get("other") or resource.id
    if not patient_id:
        raise FhirValidationError([(f"{where}.identifier", "a patient identifier is required")])
    names = [_full_name(name) for name in resource.name]
    names = [name for name in names if name]
    if not names:
        raise FhirValidationError([(f"{where}.name", "a patient name is required")])
    telecom = {c.system: c.value for c in reversed(resource.telecom) if c.value}
    address = resource.address[0] if resource.address else None
    return Patient(
        patient_id=patient_id,
        name=names[0],
        birth_date=resource.birth_date,
        sex=_GENDER.get(resource.gender or "unknown", "U"),
        address=Address(**address.model_dump()) if address else None,
        phone=telecom.get("phone"),
        email=telecom.get("email"),
        ssn=identifiers.get("ssn"),
        medical_record_number=identifiers.get("mrn"),
        health_plan_number=identifiers.get("health_plan"),
        contacts=[_contact(contact) for contact in resource.contact],
    )


def _contact(contact: PatientContact) -> Contact:
    """What the de-identifier must find again in the notes: name, telecom, address."""
    telecom = {c.system: c.value for c in reversed(contact.telecom) if c.value}
    address = contact.address
    return Contact(name=_full_name(contact.name) or None if contact.name else None,
                   phone=telecom.get("phone") or telecom.get("sms"), email=telecom.get("email"),
                   address=Address(**address.model_dump()) if address else None)  # fmt: skip


def _full_name(name: HumanName) -> str:
    if name.text and name.text.strip():
        return name.text.strip()
    return " ".join([*name.given, name.family or ""]).strip()


def _codes(concept: CodeableConcept | None) -> list[Code]:
    if concept is None:
        return []
    icd = [c for c in concept.coding if c.code and c.system in ICD10_SYSTEMS]
    chosen = icd or [c for c in concept.coding if c.code][:1]
    return [
        Code(system=c.system or ICD10_SYSTEMS[0], code=c.code or "", display=c.display)
        for c in chosen
    ]


def _feature(resource: FhirObservation, where: str) -> tuple[str, str, float] | None:
    """(group, feature, value) of an Observation the models read, else None."""
    if resource.value_quantity is None:
        return None
    quantity = resource.value_quantity
    for coding in resource.code.coding:
        if coding.system == MEDSHARE_FEATURE_SYSTEM and coding.code in CYTOLOGY_FEATURES:
            return "cytology", coding.code, quantity.value
        if coding.system == MEDSHARE_FEATURE_SYSTEM and coding.code in METABOLIC_FEATURES:
            return "metabolic", coding.code, quantity.value
        if coding.system == LOINC and coding.code in LOINC_FEATURES:
            feature, unit, transform = LOINC_FEATURES[coding.code]
            given = quantity.code or quantity.unit
            if given is not None and given != unit:
                raise FhirValidationError([(f"{where}.valueQuantity", f"expected unit {unit}")])
            value = quantity.value
            if transform == "ln":
                if value <= 0:
                    raise FhirValidationError([(f"{where}.valueQuantity", "must be positive")])
                value = math.log(value)
            return "metabolic", feature, value
    return None


def _date_part(text: str | None) -> date | None:
    if not text or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def bundle_to_case_report(document: object) -> CaseReport:
    """Validates a FHIR R4 Bundle and maps it onto the project's case-report schema."""
    bundle = validate_bundle(document)
    patients = [(i, e.resource) for i, e in enumerate(bundle.entry)
                if isinstance(e.resource, FhirPatient)]  # fmt: skip
    if len(patients) != 1:
        found = f"exactly one Patient expected, found {len(patients)}"
        raise FhirValidationError([("Bundle.entry", found)])
    patient_index, patient_resource = patients[0]
    patient = _patient(patient_resource, f"Bundle.entry[{patient_index}].resource(Patient)")
    facility = physician = None
    diagnoses: list[Code] = []
    features: dict[str, dict[str, float]] = {"cytology": {}, "metabolic": {}}
    notes: list[str] = []
    fallback_dates: list[date] = []
    encounters: list[date] = []
    clinical: list[Clinical] = []
    for index, entry in enumerate(bundle.entry):
        resource = entry.resource
        if isinstance(resource, OtherResource):
            continue  # counted by skipped_resources, never read
        if isinstance(resource, Clinical):
            clinical.append(resource)
            notes += resource.free_text()
            continue
        where = f"Bundle.entry[{index}].resource({resource.resource_type})"
        # A generated narrative only restates the structured data mapped below.
        text = resource.text
        if not isinstance(resource, FhirPatient | FhirDiagnosticReport) and text is not None:
            notes += [_narrative_text(text)] if text.status != "generated" else []
        if isinstance(resource, FhirEncounter):
            start = _date_part(resource.period.start if resource.period else None)
            encounters += [start] if start else []
            if resource.service_provider and resource.service_provider.display:
                facility = facility or resource.service_provider.display
            for participant in resource.participant:
                if participant.individual and participant.individual.display:
                    physician = physician or participant.individual.display
        elif isinstance(resource, FhirCondition):
            diagnoses += _codes(resource.code)
            notes += [note.text for note in resource.note]
        elif isinstance(resource, FhirObservation):
            measured = _feature(resource, where)
            if measured is not None:
                features[measured[0]][measured[1]] = measured[2]
            notes += [note.text for note in resource.note]
            fallback_dates += filter(None, [_date_part(resource.effective_date_time)])
        elif isinstance(resource, FhirDiagnosticReport):
            notes += [_narrative_text(resource.text), resource.conclusion or ""]
            for concept in resource.conclusion_code:
                diagnoses += _codes(concept)
            when = _date_part(resource.effective_date_time) or _date_part(resource.issued)
            fallback_dates += filter(None, [when])
    # One report per patient: dated by the latest encounter, the others summarised.
    encounter_date = max(encounters) if encounters else None
    encounter_date = encounter_date or (min(fallback_dates) if fallback_dates else None)
    if len(encounters) > 1:
        span = max(encounters).year - min(encounters).year
        notes.insert(0, f"Timeline: {len(encounters)} encounters over {span} years")
    notes[1 if len(encounters) > 1 else 0 : 0] = summary(clinical)
    if encounter_date is None:
        needed = "an Encounter.period.start (or an effective date) is required"
        raise FhirValidationError([("Bundle.entry", needed)])
    return CaseReport(
        # Not the date: an identifier's digit runs are searched for in the released report.
        report_id=bundle.id or f"fhir-{patient.patient_id}",
        patient=patient,
        encounter_date=encounter_date,
        facility=facility,
        physician=physician,
        diagnoses=diagnoses,
        cytology=features["cytology"] or None,
        metabolic=features["metabolic"] or None,
        notes="\n".join(note for note in notes if note.strip()),
    )


def skipped_resources(document: object) -> dict[str, int]:
    """How many resources of each type a case report does not use (types only: no PHI)."""
    counts: dict[str, int] = {}
    for entry in validate_bundle(document).entry:
        if isinstance(entry.resource, OtherResource):
            kind = entry.resource.resource_type
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
