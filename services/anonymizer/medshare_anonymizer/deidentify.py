"""One entry point for both record kinds: bytes in, a de-identification outcome out.

DICOM goes through the Annex E engine (`dicom.deidentifier`), case reports through the
Safe Harbor engine (`case_report.deidentifier`). Both share `PseudonymKeys`, so one
patient gets one pseudonym and one date shift everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from medshare_anonymizer.case_report.deidentifier import deidentify_case_report
from medshare_anonymizer.case_report.safe_harbor import method_label
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.case_report import CaseReport
from medshare_shared.dicom_bounds import DicomBounds, DicomBoundsError, check_dicom_bounds
from medshare_shared.events import RecordKind
from medshare_shared.fhir import FhirValidationError, bundle_to_case_report, skipped_resources
from medshare_shared.json_bounds import loads_bounded

DICOM_PROFILE = "DICOM PS3.15 E.1-1 Basic Application Level Confidentiality Profile (2024)"


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
    # Quarantined: the record as it would be released, and where text is expected.
    candidate: bytes | None = None
    regions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Deidentifier:
    keys: PseudonymKeys
    dicom_options: frozenset[str]
    case_report_date_mode: Literal["year", "shift"] = "shift"
    # The same bounds ingest checked: these bytes are parsed again here.
    dicom_bounds: DicomBounds = field(default_factory=DicomBounds)

    def run(
        self, kind: RecordKind, content_type: str, data: bytes, institution: str
    ) -> DeidOutcome:
        if kind == "dicom":
            return self._dicom(data, institution)
        return self._case_report(content_type, data, institution)

    def _dicom(self, data: bytes, institution: str) -> DeidOutcome:
        try:
            check_dicom_bounds(data, self.dicom_bounds)
        except DicomBoundsError as error:
            return DeidOutcome(
                status="rejected",
                reason=str(error),
                output=None,
                content_type="application/dicom",
                patient_pseudonym=None,
                profile=DICOM_PROFILE,
                options=[],
            )
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
            candidate=result.candidate,
            regions=result.regions,
        )

    def _case_report(self, content_type: str, data: bytes, institution: str) -> DeidOutcome:
        try:
            document = loads_bounded(data)
            skipped: dict[str, int] = {}
            if content_type.startswith("application/fhir+json"):
                report = bundle_to_case_report(document)
                skipped = skipped_resources(document)  # resource types and counts: no PHI
            else:
                report = CaseReport.model_validate(document)
        except (ValueError, ValidationError, FhirValidationError) as error:
            return DeidOutcome(
                status="rejected",
                reason=f"invalid case report ({type(error).__name__})",
                output=None,
                content_type="application/json",
                patient_pseudonym=None,
                profile=method_label(self.case_report_date_mode),
                options=[],
            )
        result = deidentify_case_report(
            report, self.keys, institution, date_mode=self.case_report_date_mode
        )
        output = json.dumps(result.output, sort_keys=True).encode() if result.output else None
        held = result.candidate
        candidate = json.dumps(held, sort_keys=True).encode() if held is not None else None
        return DeidOutcome(
            status=result.status,
            reason=result.reason,
            output=output,
            content_type="application/json",
            patient_pseudonym=result.patient_pseudonym,
            profile=method_label(self.case_report_date_mode),
            options=[f"dates:{self.case_report_date_mode}"],
            metadata={**result.metadata, **({"fhir_skipped": skipped} if skipped else {})},
            features=result.features,
            actions=result.actions,
            findings=result.findings,
            candidate=candidate,
        )
