"""The offline free-text PHI detector: each PHI class, and clinical text left alone."""

from __future__ import annotations

import pytest

from medshare_anonymizer.case_report.detector import PhiSpan, detect, merge, redact, scrub
from medshare_anonymizer.case_report.known_identifiers import KnownIdentifiers
from medshare_anonymizer.verify.case_report import find_leaks
from tests.unit.anonymizer.test_case_report_deid import report


def labels(text: str) -> dict[str, str]:
    return {text[s.start : s.end]: s.label for s in detect(text)}


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("Seen by Dr. Przybylski today.", "Przybylski", "NAME"),
        ("Discussed with Kwabena Asante, MD, who agrees.", "Kwabena Asante", "NAME"),
        ("Her daughter Xiomara Vanderhoek called.", "Xiomara Vanderhoek", "NAME"),
        ("Okonkwo reports less pain.", "Okonkwo", "NAME"),
        ("Zdenka brought her glucose log.", "Zdenka", "NAME"),
        ("Patient: OKONKWO, THANDIWE", "OKONKWO, THANDIWE", "NAME"),
        ("Spoke with Paul D. Cunningham by phone.", "Paul D. Cunningham", "NAME"),
        ("Biopsy on 03/05/2024 reviewed.", "03/05/2024", "DATE"),
        ("Biopsy on 2024-03-05 reviewed.", "2024-03-05", "DATE"),
        ("Seen March 14, 2024 and again.", "March 14, 2024", "DATE"),
        ("Seen 14 March 2024 and again.", "14 March 2024", "DATE"),
        ("Results since 4/12 are stable.", "4/12", "DATE"),
        ("Call (217) 555-0142 today.", "(217) 555-0142", "PHONE"),
        ("Call +1 217 555 0142 today.", "+1 217 555 0142", "PHONE"),
        ("Fax: 312-555-0199", "312-555-0199", "FAX"),
        ("Mail r.quimby@example.com now.", "r.quimby@example.com", "EMAIL"),
        ("See https://portal.example.org/m/1 for images.", "https://portal.example.org/m/1", "URL"),
        ("Uploaded from 10.20.30.40.", "10.20.30.40", "IP"),
        ("Uploaded from fe80::1ac7:4445:709:5213 today.", "fe80::1ac7:4445:709:5213", "IP"),
        ("SSN 123-45-6789 on file.", "123-45-6789", "SSN"),
        ("MRN: 88123-44 noted.", "88123-44", "ID"),
        ("Account # 7518078375.", "7518078375", "ID"),
        ("VIN 1HGCM82633A004352 noted.", "1HGCM82633A004352", "ID"),
        ("Lives at 44 Willow Creek Road, Apt 3.", "44 Willow Creek Road, Apt 3", "ADDRESS"),
        ("Moved to Oshkosh, WI 54901 in spring.", "54901", "ZIP"),
        ("Moved to Oshkosh, WI 54901 in spring.", "Oshkosh", "LOCATION"),
        ("Transferred from St. Agatha Medical Center.", "St. Agatha Medical Center", "FACILITY"),
        ("At University of Pemberton Medical Center.", "University of Pemberton Medical Center",
         "FACILITY"),
    ],
)  # fmt: skip
def test_detects_each_class(text: str, value: str, label: str) -> None:
    assert labels(text).get(value) == label, labels(text)


def test_ages_over_89_are_pooled_in_text() -> None:
    assert scrub("A 93-year-old woman, aged 101, and her 45-year-old son.")[0] == (
        "A 90+-year-old woman, aged 90+, and her 45-year-old son."
    )


@pytest.mark.parametrize(
    "text",
    [
        "Mammogram shows an irregular spiculated mass, BI-RADS 5.",
        "Blood pressure 128/76, pulse 72, BMI 31.4.",
        "HbA1c 7.8% today, up from 7.1% in 2019.",
        "Core biopsy confirms invasive ductal carcinoma, ER+/PR+/HER2-, Ki-67 20%.",
        "Stage pT1cN0M0, ECOG 1, ICD-10 C50.412, CPT 19083.",
        "Hb 12.1 g/dL, INR 1.1, platelets 245,000.",
        "Glasgow Coma Scale 15; Romberg negative.",
        "Pain 3/10, controlled with acetaminophen 500 mg every 6 hours as needed.",
        "Fine-needle aspirate reviewed: atypical ductal cells, nuclear grade 2.",
        "Room 412, bed B; vitals at 14:30 stable.",
    ],
)
def test_clinical_text_is_left_alone(text: str) -> None:
    assert detect(text) == []


def test_redaction_replaces_spans_with_typed_placeholders() -> None:
    text, counts = scrub("Rosalind seen 03/05/2024, call 217-555-0142.")
    assert text == "[NAME] seen [DATE], call [PHONE]."
    assert counts == {"NAME": 1, "DATE": 1, "PHONE": 1}
    assert detect(text) == []  # placeholders are not detected again


def test_overlapping_spans_merge_with_the_specific_label() -> None:
    merged = merge([PhiSpan(0, 10, "NAME"), PhiSpan(5, 20, "ADDRESS"), PhiSpan(30, 35, "ID")])
    assert merged == [PhiSpan(0, 20, "ADDRESS"), PhiSpan(30, 35, "ID")]
    assert redact("abcdefghijklmnopqrstuvwxyz0123456789", merged)[0] == "[ADDRESS]uvwxyz0123[ID]9"


def test_known_identifiers_are_removed_in_any_case_and_format() -> None:
    known = KnownIdentifiers.of(report())
    text, counts = known.scrub(
        "ROSALIND quimby, mrn 4471923, phone 217.555.0142 / (217) 555 0142, ssn 123456789, "
        "12 larkspur lane, larkspur, SPRINGFIELD 62704, born July 14, 1961 (7/14/1961)."
    )
    for value in ("rosalind", "quimby", "4471923", "0142", "123456789", "larkspur", "springfield",
                  "62704", "1961"):  # fmt: skip
        assert value not in text.lower(), value
    assert text.startswith("[NAME], mrn [ID], phone [PHONE] / [PHONE], ssn [SSN], [ADDRESS]")
    assert counts["name"] == 1 and counts["phone"] == 2 and counts["date"] == 2
    assert not known.occurs_in(text)


def test_verifier_reports_paths_not_values() -> None:
    known = KnownIdentifiers.of(report())
    document = {"a": {"b": ["fine", "Dr. Whitcombe"]}, "Quimby": 1, "n": 4471923}
    leaks = find_leaks(known, document)
    assert leaks == ["a.b[1]", "$.<key>"]  # numbers are measurements, never scanned
