"""Case-report de-identification: Safe Harbor classes, ZIP and age rules, date modes,
the verifier, and the same date shift as the DICOM path for the same patient."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from medshare_anonymizer.case_report.deidentifier import deidentify_case_report
from medshare_anonymizer.case_report.safe_harbor import (
    IDENTIFIER_CLASSES,
    RESTRICTED_ZIP3,
    age_band,
    reported_age,
    zip3,
)
from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.case_report import CYTOLOGY_FEATURES, CaseReport
from tests.unit.anonymizer.conftest import parse, read_bytes, sample_path, to_bytes

INSTITUTION = "springfield-general"
# Every structured identifier of the report below, and those planted in its notes.
STRUCTURED_PHI = (
    "Rosalind", "Quimby", "MRN-4471923", "4471923", "217-555-0142", "2175550142", "Larkspur",
    "Springfield", "62704", "r.quimby@example.com", "123-45-6789", "HPN-99812345", "CR-0001",
    "Whitcombe", "Amos", "1961-07-14", "2024-03-05",
)  # fmt: skip
NOTE_PHI = ("Thandiwe", "Okonkwo", "(312) 555-0199", "https://portal.example.org/msg/881",
            "10.20.30.40", "A99812345", "D123-4567-8901", "1HGCM82633A004352", "PMP59538768",
            "St. Agatha Medical Center", "March 14, 2024", "44 Willow Creek Road")  # fmt: skip


def report_dict(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "report_id": "CR-0001",
        "patient": {
            "patient_id": "MRN-4471923",
            "name": "Rosalind Quimby",
            "birth_date": "1961-07-14",
            "sex": "F",
            "address": {
                "line": ["12 Larkspur Lane"],
                "city": "Springfield",
                "state": "IL",
                "postal_code": "62704",
            },
            "phone": "217-555-0142",
            "email": "r.quimby@example.com",
            "ssn": "123-45-6789",
            "medical_record_number": "MRN-4471923",
            "health_plan_number": "HPN-99812345",
        },
        "encounter_date": "2024-03-05",
        "facility": "Springfield General Hospital",
        "physician": "Dr. Amos Whitcombe",
        "diagnoses": [{"code": "C50.9", "display": "Malignant neoplasm of breast"}],
        "cytology": dict.fromkeys(CYTOLOGY_FEATURES, 1.5),
        "metabolic": {"age": 62.0, "bmi": 31.4, "glu": 99.0},
        "notes": (
            "Rosalind Quimby (MRN 4471923) seen on 03/05/2024 by Dr. Whitcombe; call "
            "(217) 555-0142 or r.quimby@example.com. Her sister Thandiwe Okonkwo, fax "
            "(312) 555-0199, sent images via https://portal.example.org/msg/881 from IP "
            "10.20.30.40. Account A99812345. Driver's license D123-4567-8901. Car VIN "
            "1HGCM82633A004352. Insulin pump serial number PMP59538768. Previously treated at "
            "St. Agatha Medical Center on March 14, 2024. Sister lives at 44 Willow Creek Road. "
            "Mammogram: BI-RADS 5, 2.1 cm mass; BP 128/76; HbA1c 7.8% in 2019."
        ),
    }
    report.update(changes)
    return report


def report(**changes: Any) -> CaseReport:
    return CaseReport.model_validate(report_dict(**changes))


def run(keys: PseudonymKeys, source: CaseReport, mode: str = "shift") -> Any:
    return deidentify_case_report(source, keys, INSTITUTION, date_mode=mode)  # type: ignore[arg-type]


def test_every_identifier_of_the_record_and_its_notes_is_gone(keys: PseudonymKeys) -> None:
    result = run(keys, report())
    assert result.status == "ok", result.reason
    released = json.dumps({"doc": result.output, "meta": result.metadata}).lower()
    for value in STRUCTURED_PHI + NOTE_PHI:
        assert value.lower() not in released, value
    notes = result.output["notes"]
    for placeholder in ("[NAME]", "[DATE]", "[PHONE]", "[FAX]", "[EMAIL]", "[URL]", "[IP]",
                        "[ID]", "[FACILITY]", "[ADDRESS]"):  # fmt: skip
        assert placeholder in notes, placeholder
    # Clinical content survives: measurements, years and scores are not identifiers.
    for kept in ("BI-RADS 5", "2.1 cm", "128/76", "7.8%", "2019", "Mammogram"):
        assert kept in notes


def test_actions_count_identifier_classes(keys: PseudonymKeys) -> None:
    actions = run(keys, report()).actions
    for identifier_class in ("name", "geographic", "date", "phone", "fax", "email", "ssn", "mrn",
                             "health_plan", "url", "ip", "other_id"):  # fmt: skip
        assert actions.get(identifier_class, 0) >= 1, identifier_class
    assert set(actions) - {"dropped_feature"} <= set(IDENTIFIER_CLASSES)
    assert len(IDENTIFIER_CLASSES) == 18


def test_output_shape_metadata_and_features(keys: PseudonymKeys) -> None:
    result = run(keys, report())
    patient = result.output["patient"]
    assert patient["pseudonym"] == keys.patient_pseudonym(INSTITUTION, "MRN-4471923")
    assert result.patient_pseudonym == patient["pseudonym"]
    assert patient["zip3"] == "627" and patient["state"] == "IL" and patient["age"] == "62"
    assert result.output["report_id"] != "CR-0001" and len(result.output["report_id"]) == 16
    assert result.metadata["diagnosis_codes"] == ["C50.9"]
    assert result.metadata["feature_groups"] == ["cytology", "metabolic"]
    assert result.metadata["age_band"] == "60-69" and result.metadata["zip3"] == "627"
    assert "Springfield" not in result.metadata["description"]
    assert result.features == {**dict.fromkeys(CYTOLOGY_FEATURES, 1.5), "age": 62.0,
                               "bmi": 31.4, "glu": 99.0}  # fmt: skip


def test_zip_rules() -> None:
    assert zip3("62704") == "627"
    assert zip3("62704-1234") == "627"
    assert zip3("62704", "US") == "627"
    for prefix in sorted(RESTRICTED_ZIP3):
        assert zip3(prefix + "12") == "000"
    assert len(RESTRICTED_ZIP3) == 17
    assert zip3("SW1A 1AA", "GB") is None  # no population rule for it: nothing is kept
    assert zip3("627") is None and zip3(None) is None


def test_restricted_zip_in_a_report(keys: PseudonymKeys) -> None:
    source = report_dict()
    source["patient"]["address"]["postal_code"] = "82190"
    assert run(keys, CaseReport.model_validate(source)).output["patient"]["zip3"] == "000"


@pytest.mark.parametrize(
    ("age", "shown", "band"),
    [(0, "0", "0-9"), (89, "89", "80-89"), (90, "90+", "90+"), (104, "90+", "90+")],
)
def test_age_rules(age: int, shown: str, band: str) -> None:
    assert reported_age(age) == shown
    assert age_band(age) == band


def test_over_89_pools_age_and_drops_birth_year(keys: PseudonymKeys) -> None:
    source = report_dict(metabolic={"age": 93.0, "bmi": 22.0})
    source["patient"]["birth_date"] = "1930-01-02"
    for mode in ("year", "shift"):
        result = run(keys, CaseReport.model_validate(source), mode)
        patient = result.output["patient"]
        assert patient["age"] == "90+" and result.metadata["age_band"] == "90+"
        assert "birth_year" not in patient and "birth_date" not in patient
        assert result.features["age"] == 90.0
        assert "1930" not in json.dumps(result.output)


def test_year_mode_keeps_years_only(keys: PseudonymKeys) -> None:
    result = run(keys, report(), "year")
    assert result.status == "ok"
    assert result.output["encounter_year"] == 2024
    assert result.output["patient"]["birth_year"] == 1961
    assert "encounter_date" not in result.output
    assert result.metadata["encounter_year"] == 2024
    assert result.output["deidentification"]["dates_shifted"] is False


def test_shift_mode_uses_the_patients_shift(keys: PseudonymKeys) -> None:
    result = run(keys, report(), "shift")
    shift = keys.date_shift_days(keys.patient_pseudonym(INSTITUTION, "MRN-4471923"))
    encounter = date.fromisoformat(result.output["encounter_date"])
    birth = date.fromisoformat(result.output["patient"]["birth_date"])
    assert (encounter - date(2024, 3, 5)).days == shift
    assert (birth - date(1961, 7, 14)).days == shift
    assert result.metadata["encounter_year"] == encounter.year  # read from the output


def test_same_patient_same_shift_and_pseudonym_across_reports(keys: PseudonymKeys) -> None:
    first = run(keys, report())
    second = run(keys, report(report_id="CR-0002", encounter_date="2024-06-01"))
    assert first.patient_pseudonym == second.patient_pseudonym
    shift = (date.fromisoformat(second.output["encounter_date"]) - date(2024, 6, 1)).days
    assert shift == (date.fromisoformat(first.output["encounter_date"]) - date(2024, 3, 5)).days
    other = run(keys, report(patient={**report_dict()["patient"], "patient_id": "MRN-1"}))
    assert other.patient_pseudonym != first.patient_pseudonym


def test_image_and_case_report_of_one_patient_shift_identically(keys: PseudonymKeys) -> None:
    ds = parse(read_bytes(sample_path("CT_small.dcm")))
    ds.PatientID = "MRN-4471923"
    ds.StudyDate = "20240305"
    image = deidentify_dicom(to_bytes(ds), keys, INSTITUTION,
                             frozenset({"retain-long-modified-dates"}))  # fmt: skip
    assert image.status == "ok", image.reason
    assert image.output is not None
    shifted_study = str(parse(image.output).StudyDate)
    case = run(keys, report(), "shift")
    assert case.patient_pseudonym == image.patient_pseudonym
    assert case.output["encounter_date"].replace("-", "") == shifted_study
    assert shifted_study != "20240305"


def test_planted_leak_in_an_unscrubbed_field_is_quarantined(keys: PseudonymKeys) -> None:
    # A diagnosis code is kept verbatim; a name smuggled into it must be caught.
    source = report(diagnoses=[{"code": "C50.9", "system": "urn:quimby:codes"}])
    result = run(keys, source)
    assert result.status == "quarantined"
    assert result.output is None
    assert "document.diagnoses[0].system" in result.findings
    assert "quimby" not in (result.reason or "").lower()
    assert all("quimby" not in finding.lower() for finding in result.findings)


def test_planted_leak_in_country_is_quarantined(keys: PseudonymKeys) -> None:
    source = report_dict()
    source["patient"]["address"]["country"] = "Whitcombe"
    result = run(keys, CaseReport.model_validate(source))
    assert result.status == "quarantined"
    assert result.findings == ["document.patient.country"]


def test_unknown_and_non_finite_features_are_dropped(keys: PseudonymKeys) -> None:
    result = run(keys, report(cytology={"mean_radius": 12.0, "Rosalind": 1.0,
                                        "mean_area": float("nan")}))  # fmt: skip
    assert result.status == "ok"
    assert "Rosalind" not in result.features and "mean_area" not in result.features
    assert result.features["mean_radius"] == 12.0
    assert result.actions["dropped_feature"] == 2


def test_shift_past_the_calendar_is_rejected(keys: PseudonymKeys) -> None:
    result = run(keys, report(encounter_date="0001-01-05"), "shift")
    assert result.status == "rejected"
    assert result.reason == "date out of range after shifting"


def test_deidentifier_serialises_and_rejects_invalid_reports(keys: PseudonymKeys) -> None:
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset(), case_report_date_mode="year")
    outcome = deidentifier.run("case_report", "application/json",
                               json.dumps(report_dict()).encode(), INSTITUTION)  # fmt: skip
    assert outcome.status == "ok" and outcome.output is not None
    assert json.loads(outcome.output)["encounter_year"] == 2024
    assert outcome.options == ["dates:year"]
    bad = deidentifier.run("case_report", "application/json", b'{"report_id": 1}', INSTITUTION)
    assert bad.status == "rejected" and bad.reason == "invalid case report (ValidationError)"


@pytest.mark.parametrize("mode", ["year", "shift"])
def test_the_label_says_which_method_the_dates_followed(keys: PseudonymKeys, mode: str) -> None:
    """Safe Harbor keeps only years: a shifted full date must not be labelled Safe Harbor."""
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset(), case_report_date_mode=mode)  # type: ignore[arg-type]
    outcome = deidentifier.run("case_report", "application/json",
                               json.dumps(report_dict()).encode(), INSTITUTION)  # fmt: skip
    assert outcome.status == "ok" and outcome.output is not None
    method = json.loads(outcome.output)["deidentification"]["method"]
    if mode == "year":
        assert outcome.profile == "HIPAA Safe Harbor 45 CFR 164.514(b)(2)"
        assert "Safe Harbor 45 CFR" in method and "shifted" not in method
    else:
        assert "HIPAA Safe Harbor 45" not in outcome.profile
        assert outcome.profile == "Safe Harbor except dates: dates shifted per patient"
        assert "shifted per patient" in method and "HIPAA Safe Harbor 45" not in method
