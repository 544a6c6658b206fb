"""HTTP doors: one DICOM instance, one case report (JSON or FHIR R4 Bundle), DICOMweb STOW-RS.

Every refusal is a JSON body `{"error": reason}`: 401/403 for who is asking, 413 for
a limit, 415 for a media type (or SOP class / transfer syntax) not taken, 422 for
content that is not what it claims, 503 with Retry-After when a dependency is down
(nothing was acknowledged, a retry is safe). Nothing is stored before the whole
body has been read and checked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from medshare_ingest.doors.http.requests import (
    DICOM,
    DoorCheck,
    Doors,
    error_response,
    request_media_type,
)
from medshare_ingest.doors.stow.routes import stow_router
from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.limits import IngestLimits
from medshare_ingest.submissions import SubmissionDesk
from medshare_ingest.validation import FHIR_MEDIA_TYPES


def ingest_router(
    desk: SubmissionDesk,
    institutions: InstitutionDirectory,
    limits: IngestLimits,
    retry_after_s: int = 5,
) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    doors = Doors(desk, institutions, limits, retry_after_s)
    dicom_check = DoorCheck(desk, limits, "dicom")
    case_report_check = DoorCheck(desk, limits, "case_report")

    @router.post("/instances", status_code=202)
    async def post_instance(request: Request) -> JSONResponse:
        """One DICOM Part 10 instance as the body (Content-Type: application/dicom)."""
        institution = doors.institutions.resolve(request)  # who asks, before what is sent
        if request_media_type(request) != DICOM:
            return error_response(415, "expected Content-Type: application/dicom")
        return await doors.submit_one(request, institution, "http", dicom_check, DICOM)

    @router.post("/case-reports", status_code=202)
    async def post_case_report(request: Request) -> JSONResponse:
        """One case report: the project's JSON schema (application/json) or a FHIR R4
        Bundle (application/fhir+json)."""
        institution = doors.institutions.resolve(request)
        media_type = request_media_type(request)
        if media_type != "application/json" and media_type not in FHIR_MEDIA_TYPES:
            return error_response(
                415, "expected Content-Type: application/json or application/fhir+json"
            )
        return await doors.submit_one(request, institution, "http", case_report_check, media_type)

    router.include_router(stow_router(doors))
    return router
