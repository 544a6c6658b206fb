"""One entry point for both record kinds: bytes in, a de-identification outcome out.

DICOM goes through the Annex E engine (`dicom_deid`), case reports through the
Safe Harbor engine (`case_report_deid`). Both share `PseudonymKeys`, so one
patient gets one pseudonym and one date shift everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from medshare_anonymizer.case_report_deid import deidentify_case_report
from medshare_anonymizer.dicom_deid import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.case_report import CaseReport
from medshare_shared.events import RecordKind
from medshare_shared.fhir import FhirValidationError, bundle_to_case_report

DICOM_PROFILE = "DICOM PS3.15 E.1-1 Basic Application Level Confidentiality Profile (2024)"
CASE_REPORT_PROFILE = "HIPAA Safe Harbor 45 CFR 164.514(b)(2)"


@dataclass
class DeidOutcome:
    status: Literal["ok", "quarantined", "rejected"]
    reason: str | None
    output: bytes | None
    content_type: str
    patient_pseudonym: str | None
    profile: str
    options: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Deidentifier:
    keys: PseudonymKeys
    dicom_options: frozenset[str]
    case_report_date_mode: Literal["year", "shift"] = "shift"

    def run(
        self, kind: RecordKind, content_type: str, data: bytes, institution: str
    ) -> DeidOutcome:
        if kind == "dicom":
            return self._dicom(data, institution)
        return self._case_report(content_type, data, institution)

    def _dicom(self, data: bytes, institution: str) -> DeidOutcome:
        result = deidentify_dicom(data, self.keys, institution, self.dicom_options)
        return DeidOutcome(
            status=result.status,
            reason=result.reason,
            output=result.output,
            content_type="application/dicom",
            patient_pseudonym=result.patient_pseudonym,
            profile=DICOM_PROFILE,
            options=list(result.options),
            metadata=result.metadata,
            actions=result.actions,
            findings=result.findings,
        )

    def _case_report(self, content_type: str, data: bytes, institution: str) -> DeidOutcome:
        try:
            document = json.loads(data)
            if content_type.startswith("application/fhir+json"):
                report = bundle_to_case_report(document)
            else:
                report = CaseReport.model_validate(document)
        except (ValueError, ValidationError, FhirValidationError) as error:
            return DeidOutcome(
                status="rejected",
                reason=f"invalid case report ({type(error).__name__})",
                output=None,
                content_type="application/json",
                patient_pseudonym=None,
                profile=CASE_REPORT_PROFILE,
                options=[],
            )
        result = deidentify_case_report(
            report, self.keys, institution, date_mode=self.case_report_date_mode
        )
        output = json.dumps(result.output, sort_keys=True).encode() if result.output else None
        return DeidOutcome(
            status=result.status,
            reason=result.reason,
            output=output,
            content_type="application/json",
            patient_pseudonym=result.patient_pseudonym,
            profile=CASE_REPORT_PROFILE,
            options=[f"dates:{self.case_report_date_mode}"],
            metadata=result.metadata,
            features=result.features,
            actions=result.actions,
            findings=result.findings,
        )
