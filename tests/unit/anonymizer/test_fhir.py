"""FHIR R4 Bundles: validation errors that name fields, and the mapping to CaseReport."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.fhir import (
    LOINC,
    MEDSHARE_FEATURE_SYSTEM,
    FhirValidationError,
    bundle_to_case_report,
    skipped_resources,
    validate_bundle,
)


def observation(system: str, code: str, value: float, unit: str | None = None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity["code"] = unit
    coding = [{"system": system, "code": code}]
    return {"resourceType": "Observation", "status": "final", "code": {"coding": coding},
            "valueQuantity": quantity}  # fmt: skip


def bundle() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": "bundle-77",
        "type": "collection",
        "entry": [
            {"resource": {
                "resourceType": "Patient", "id": "p1",
                "identifier": [
                    {"type": {"coding": [{"code": "MR"}]}, "value": "MRN-4471923"},
                    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
                    {"type": {"coding": [{"code": "MB"}]}, "value": "HPN-1"},
                ],
                "name": [{"given": ["Rosalind"], "family": "Quimby"}],
                "telecom": [{"system": "phone", "value": "217-555-0142"},
                            {"system": "email", "value": "rq@example.com"}],
                "gender": "female", "birthDate": "1961-07-14",
                "address": [{"line": ["12 Larkspur Lane"], "city": "Springfield",
                             "state": "IL", "postalCode": "62704"}],
                "text": {"status": "generated", "div": "<div>Rosalind Quimby</div>"},
            }},
            {"resource": {
                "resourceType": "Encounter", "status": "finished",
                "class": {"code": "AMB"}, "period": {"start": "2024-03-05T09:30:00Z"},
                "serviceProvider": {"display": "Springfield General Hospital"},
                "participant": [{"individual": {"display": "Dr. Amos Whitcombe"}}],
            }},
            {"resource": {
                "resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                "code": {"coding": [
                    {"system": "http://snomed.info/sct", "code": "254837009"},
                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C50.912",
                     "display": "Malignant neoplasm of left breast"}]},
            }},
            {"resource": observation(MEDSHARE_FEATURE_SYSTEM, "mean_radius", 17.99)},
            {"resource": observation(LOINC, "39156-5", 31.4, "kg/m2")},
            {"resource": observation(LOINC, "2571-8", 150.0, "mg/dL")},
            {"resource": {
                "resourceType": "DiagnosticReport", "status": "final",
                "code": {"text": "Cytology"},
                "conclusion": "Malignant cells, reviewed by Dr. Whitcombe.",
                "text": {"status": "additional",
                         "div": "<div xmlns='http://www.w3.org/1999/xhtml'><p>Rosalind Quimby"
                                " &amp; sister seen 03/05/2024.</p></div>"},
            }},
        ],
    }  # fmt: skip


def test_bundle_maps_onto_the_case_report_schema() -> None:
    report = bundle_to_case_report(bundle())
    patient = report.patient
    assert patient.patient_id == "MRN-4471923" == patient.medical_record_number
    assert patient.name == "Rosalind Quimby" and patient.sex == "F"
    assert patient.ssn == "123-45-6789" and patient.health_plan_number == "HPN-1"
    assert patient.phone == "217-555-0142" and patient.email == "rq@example.com"
    assert patient.address is not None and patient.address.postal_code == "62704"
    assert str(report.encounter_date) == "2024-03-05"
    assert report.facility == "Springfield General Hospital"
    assert report.physician == "Dr. Amos Whitcombe"
    assert [(c.code, c.system) for c in report.diagnoses] == [
        ("C50.912", "http://hl7.org/fhir/sid/icd-10-cm")
    ]
    assert report.cytology == {"mean_radius": 17.99}
    assert report.metabolic is not None
    assert report.metabolic["bmi"] == 31.4
    assert math.isclose(report.metabolic["ltg"], math.log(150.0))
    assert "Rosalind Quimby & sister seen 03/05/2024." in report.notes
    assert "Malignant cells" in report.notes
    assert "<p>" not in report.notes
    assert report.report_id == "bundle-77"


def clinical_bundle() -> dict[str, Any]:
    """The sample plus a second encounter, coded clinical resources, a note and a Claim."""
    document = bundle()
    note = base64.b64encode(b"Rosalind Quimby tolerated the biopsy; call 217-555-0142.").decode()
    document["entry"] += [
        {
            "resource": {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "period": {"start": "2019-01-02"},
            }
        },
        {
            "resource": {
                "resourceType": "Procedure",
                "status": "completed",
                "code": {"coding": [{"display": "Biopsy of breast"}]},
                "note": [{"text": "Done by Dr. Whitcombe for Rosalind Quimby."}],
            }
        },
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "status": "active",
                "medicationCodeableConcept": {"coding": [{"display": "Tamoxifen 20 MG"}]},
            }
        },
        {
            "resource": {
                "resourceType": "DocumentReference",
                "status": "current",
                "content": [{"attachment": {"contentType": "text/plain", "data": note}}],
            }
        },
        {"resource": {"resourceType": "Claim", "status": "active", "id": "c1"}},
        {"resource": {"resourceType": "Claim", "status": "active", "id": "c2"}},
        {"resource": {"resourceType": "Practitioner", "name": [{"family": "Whitcombe"}]}},
    ]
    return document  # fmt: skip


def test_any_r4_resource_is_accepted_and_skipped_ones_are_counted() -> None:
    document = clinical_bundle()
    report = bundle_to_case_report(document)
    assert skipped_resources(document) == {"Claim": 2, "Practitioner": 1}
    # One report per patient: the latest encounter dates it, the timeline counts the rest.
    assert str(report.encounter_date) == "2024-03-05"
    assert "Timeline: 2 encounters over 5 years" in report.notes
    assert "Procedures: Biopsy of breast" in report.notes
    assert "Medications: Tamoxifen 20 MG" in report.notes
    assert "tolerated the biopsy" in report.notes  # the DocumentReference's text
    assert "Done by Dr. Whitcombe" in report.notes  # the Procedure's note


def test_new_free_text_is_deidentified(keys: PseudonymKeys) -> None:
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset(), case_report_date_mode="year")
    data = json.dumps(clinical_bundle()).encode()
    outcome = deidentifier.run("case_report", "application/fhir+json", data, "north")
    assert outcome.status == "ok" and outcome.output is not None
    released = outcome.output.decode()
    for value in ("Rosalind", "Quimby", "217-555-0142", "Whitcombe"):
        assert value not in released
    assert "tolerated the biopsy" in released
    assert outcome.metadata["fhir_skipped"] == {"Claim": 2, "Practitioner": 1}


def test_error_messages_are_bounded() -> None:
    document = bundle()
    document["entry"] += [{"resource": {"status": "x"}} for _ in range(40)]
    with pytest.raises(FhirValidationError) as caught:
        validate_bundle(document)
    assert len(caught.value.problems) == 40
    assert str(caught.value).endswith("; and 35 more problems")
    assert len(str(caught.value)) < 600


def test_missing_required_field_names_its_path() -> None:
    document = bundle()
    del document["entry"][3]["resource"]["status"]
    del document["entry"][1]["resource"]["class"]
    with pytest.raises(FhirValidationError) as caught:
        validate_bundle(document)
    paths = [path for path, _ in caught.value.problems]
    assert "Bundle.entry[3].resource(Observation).status" in paths
    assert "Bundle.entry[1].resource(Encounter).class" in paths
    assert all(message == "Field required" for _, message in caught.value.problems)


def test_errors_never_quote_values() -> None:
    document = bundle()
    document["entry"][0]["resource"]["birthDate"] = "Rosalind Quimby"
    document["type"] = "Quimby"
    with pytest.raises(FhirValidationError) as caught:
        validate_bundle(document)
    assert "Quimby" not in str(caught.value)
    assert "Bundle.entry[0].resource(Patient).birthDate" in str(caught.value)
    assert "Bundle.type" in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"resourceType": "Bundle", "type": "collection"}, "exactly one Patient expected, found 0"),
        ({"type": "collection"}, "Field required"),
    ],
)
def test_structural_problems(document: object, message: str) -> None:
    with pytest.raises(FhirValidationError, match=message):
        bundle_to_case_report(document)


def test_wrong_unit_and_missing_identifiers_are_named() -> None:
    document = bundle()
    document["entry"][4]["resource"]["valueQuantity"]["code"] = "lb/in2"
    with pytest.raises(FhirValidationError, match=r"entry\[4\].*expected unit kg/m2"):
        bundle_to_case_report(document)
    document = bundle()
    del document["entry"][0]["resource"]["identifier"]
    del document["entry"][0]["resource"]["id"]
    with pytest.raises(FhirValidationError, match=r"resource\(Patient\)\.identifier"):
        bundle_to_case_report(document)


def test_encounter_date_falls_back_to_the_report_date() -> None:
    document = bundle()
    del document["entry"][1]
    document["entry"][-1]["resource"]["effectiveDateTime"] = "2024-02-01T10:00:00Z"
    assert str(bundle_to_case_report(document).encounter_date) == "2024-02-01"
    del document["entry"][-1]["resource"]["effectiveDateTime"]
    with pytest.raises(FhirValidationError, match=r"Encounter\.period\.start"):
        bundle_to_case_report(document)


def test_fhir_bundle_through_the_deidentifier(keys: PseudonymKeys) -> None:
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset())
    data = json.dumps(bundle()).encode()
    outcome = deidentifier.run("case_report", "application/fhir+json", data, "springfield")
    assert outcome.status == "ok", outcome.reason
    assert outcome.output is not None
    text = outcome.output.decode().lower()
    for value in ("rosalind", "quimby", "4471923", "larkspur", "whitcombe", "springfield", "0142"):
        assert value not in text
    assert outcome.features["mean_radius"] == 17.99
    assert outcome.patient_pseudonym == keys.patient_pseudonym("springfield", "MRN-4471923")
    broken = deidentifier.run("case_report", "application/fhir+json", b'{"resourceType": "Bundle"}',
                              "springfield")  # fmt: skip
    assert broken.status == "rejected"
    assert broken.reason == "invalid case report (FhirValidationError)"
