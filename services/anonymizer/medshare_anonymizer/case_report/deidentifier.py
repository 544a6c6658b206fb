"""Case-report de-identification (HIPAA Safe Harbor in year mode), verified against the source.

``deidentify_case_report`` turns a validated `CaseReport` into a de-identified JSON
document, catalog metadata and model features:

- the 18 identifier classes are removed or transformed (names, street, city, phone,
  e-mail, SSN, MRN, plan number and the report's own number go; the patient gets the
  same keyed pseudonym the DICOM path derives from (institution, patient ID));
- ZIP codes keep their first three digits ("000" for the restricted prefixes), ages
  over 89 become "90+" (and the birth year goes with them), dates become the year or
  the patient's shifted date (`keys.date_shift_days(pseudonym)`, as for images);
- free text loses the record's own identifiers, then whatever the offline detector
  finds, replaced by typed placeholders;
- a verifier then searches the whole output and metadata for every identifying value
  of the source; a hit quarantines the record with the JSON path, never the value.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from medshare_anonymizer.case_report import detector
from medshare_anonymizer.case_report.known_identifiers import KnownIdentifiers
from medshare_anonymizer.case_report.safe_harbor import (
    OLDEST_REPORTED_AGE,
    DateMode,
    age_band,
    age_in_years,
    method_label,
    reported_age,
    state_name,
    transform_date,
    zip3,
)
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.verify.case_report import find_leaks
from medshare_shared.case_report import CYTOLOGY_FEATURES, METABOLIC_FEATURES, CaseReport

Status = Literal["ok", "quarantined", "rejected"]


@dataclass
class CaseReportDeidResult:
    status: Status
    reason: str | None
    output: dict[str, Any] | None
    patient_pseudonym: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    # A quarantined report as it would be released: for a steward to judge, never shared.
    candidate: dict[str, Any] | None = None


def case_report_pseudonym(keys: PseudonymKeys, institution: str, report: CaseReport) -> str:
    """The DICOM path's derivation: (institution, patient ID as the PACS stores it)."""
    return keys.patient_pseudonym(institution, report.patient.patient_id.strip())


class _Deidentification:
    def __init__(self, report: CaseReport, keys: PseudonymKeys, institution: str,
                 date_mode: DateMode) -> None:  # fmt: skip
        self.report = report
        self.date_mode = date_mode
        self.pseudonym = case_report_pseudonym(keys, institution, report)
        self.shift = keys.date_shift_days(self.pseudonym) if date_mode == "shift" else None
        self.report_surrogate = keys.surrogate_id(f"case-report:{institution}", report.report_id)
        self.known = KnownIdentifiers.of(report)
        self.actions: Counter[str] = Counter()
        self.age: int | None = None
        if report.patient.birth_date is not None:
            self.age = age_in_years(report.patient.birth_date, report.encounter_date)

    def text(self, value: str, coded: bool = False) -> str:
        """Free text without the record's identifiers and without detected PHI.

        Both are found on the original text and redacted in one pass: scrubbing one
        first would break the other's shape (a record's digit run inside a date, a
        name inside an e-mail address) and leave the rest behind. A coded label (a
        diagnosis display) skips the statistical model: it holds no sentence to judge.
        """
        known = self.known.matches(value)
        # Which Safe Harbor class a known value is ("mrn", not the placeholder's "ID").
        classes = {(start, end): needle.identifier_class for start, end, needle in known}
        spans = detector.merge(
            [*detector.detect(value, model=not coded),
             *(detector.PhiSpan(start, end, needle.label) for start, end, needle in known)]
        )  # fmt: skip
        scrubbed, _ = detector.redact(value, spans)
        for span in spans:
            inside = [c for (s, e), c in classes.items() if span.start <= s and e <= span.end]
            self.actions[inside[0] if inside else detector.LABEL_CLASS[span.label]] += 1
        return scrubbed

    def patient(self) -> dict[str, Any]:
        source = self.report.patient
        out: dict[str, Any] = {"pseudonym": self.pseudonym, "sex": source.sex}
        self.actions["name"] += 1 + len(source.contacts)
        self.actions["mrn"] += 1 + (source.medical_record_number is not None)
        for value, identifier_class in ((source.ssn, "ssn"), (source.phone, "phone"),
                                        (source.email, "email"),
                                        (source.health_plan_number, "health_plan")):  # fmt: skip
            self.actions[identifier_class] += value is not None
        if self.age is not None:
            out["age"] = reported_age(self.age)
            self.actions["date"] += 1  # the birth date itself never leaves
            if self.age <= OLDEST_REPORTED_AGE and source.birth_date is not None:
                key = "birth_year" if self.date_mode == "year" else "birth_date"
                out[key] = self._date(source.birth_date)
        address = source.address
        if address is not None:
            self.actions["geographic"] += len(address.line) + (address.city is not None)
            code = zip3(address.postal_code, address.country)
            if code is not None:
                out["zip3"] = code
            self.actions["geographic"] += address.postal_code is not None
            if (state := state_name(address.state)) is not None:
                out["state"] = state
            if address.country and address.country.replace(" ", "").isalpha():
                out["country"] = address.country.strip()
        return out

    def _date(self, value: Any) -> str | int:
        text = transform_date(value, self.date_mode, self.shift)
        return int(text) if self.date_mode == "year" else text

    def features(self) -> dict[str, float]:
        report, out = self.report, {}
        for section, names in ((report.cytology, CYTOLOGY_FEATURES),
                               (report.metabolic, METABOLIC_FEATURES)):  # fmt: skip
            for name, value in (section or {}).items():
                if name not in names or not math.isfinite(value):
                    self.actions["dropped_feature"] += 1  # unknown keys may be free text
                    continue
                if name == "age" and value > OLDEST_REPORTED_AGE:
                    value = float(OLDEST_REPORTED_AGE + 1)  # Safe Harbor: pooled as 90+
                    self.actions["date"] += 1
                out[name] = float(value)
        return out

    def document(self, features: dict[str, float]) -> dict[str, Any]:
        report = self.report
        encounter_key = "encounter_year" if self.date_mode == "year" else "encounter_date"
        self.actions["date"] += 1
        self.actions["other_id"] += 1  # the report number
        self.actions["geographic"] += report.facility is not None
        self.actions["name"] += report.physician is not None
        diagnoses = [{"system": c.system, "code": c.code,
                      **({"display": self.text(c.display, coded=True)} if c.display else {})}
                     for c in report.diagnoses]  # fmt: skip
        return {
            "schema_version": report.schema_version,
            "report_id": self.report_surrogate,
            "patient": self.patient(),
            encounter_key: self._date(report.encounter_date),
            "diagnoses": diagnoses,
            "cytology": {k: v for k, v in features.items() if k in CYTOLOGY_FEATURES} or None,
            "metabolic": {k: v for k, v in features.items() if k in METABOLIC_FEATURES} or None,
            "notes": self.text(report.notes),
            "deidentification": {
                "method": f"medshare {method_label(self.date_mode)}, free-text PHI detection",
                "date_mode": self.date_mode,
                "dates_shifted": self.shift is not None,
            },
        }

    def metadata(self, document: dict[str, Any], features: dict[str, float]) -> dict[str, Any]:
        """Catalog fields, read from the de-identified document only."""
        patient = document["patient"]
        year = document.get("encounter_year") or int(str(document["encounter_date"])[:4])
        groups = [g for g in ("cytology", "metabolic") if document.get(g)]
        codes = [d["code"] for d in document["diagnoses"]]
        described = "; ".join(f"{d['code']} {d.get('display', '')}".strip()
                              for d in document["diagnoses"])  # fmt: skip
        panels = ", ".join(f"{g} panel" for g in groups)
        return {
            "sex": patient.get("sex"),
            "age": patient.get("age"),
            "age_band": age_band(self.age) if self.age is not None else None,
            "zip3": patient.get("zip3"),
            "state": patient.get("state"),
            "encounter_year": year,
            "date_mode": self.date_mode,
            "diagnosis_codes": codes,
            # Display names beside their codes (same order), for facets a person can read.
            "diagnosis_displays": [str(d.get("display") or "") for d in document["diagnoses"]],
            "feature_groups": groups,
            "feature_count": len(features),
            "description": " | ".join(filter(None, [f"Case report {year}", described, panels])),
        }


def deidentify_case_report(
    report: CaseReport,
    keys: PseudonymKeys,
    institution: str,
    date_mode: DateMode = "shift",
) -> CaseReportDeidResult:
    """De-identifies one case report; never raises for bad content."""
    try:
        work = _Deidentification(report, keys, institution, date_mode)
        features = work.features()
        document = work.document(features)
        metadata = work.metadata(document, features)
    except OverflowError:  # a shift past date.min
        return CaseReportDeidResult("rejected", "date out of range after shifting", None, None)
    except Exception as exc:  # a message could quote a value: report the type only
        return CaseReportDeidResult("rejected", f"unprocessable case report ({type(exc).__name__})",
                                    None, None)  # fmt: skip
    actions = dict(+work.actions)
    findings = find_leaks(work.known, {"document": document, "metadata": metadata})
    if findings:
        reason = "verifier found source identifiers in: " + ", ".join(findings[:10])
        return CaseReportDeidResult("quarantined", reason, None, work.pseudonym, metadata, features,
                                    actions, findings, candidate=document)  # fmt: skip
    return CaseReportDeidResult("ok", None, document, work.pseudonym, metadata, features, actions)
