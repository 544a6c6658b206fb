"""HTTP doors: a DICOM instance or a JSON case report per request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.stow import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_OUT_OF_RESOURCES,
    FAILURE_SOP_CLASS_MISMATCH,
    InstanceOutcome,
    MultipartError,
    identify,
    split_multipart,
    stow_response,
)
from medshare_ingest.submissions import PublishFailed, Submission, SubmissionDesk
from medshare_ingest.validation import InvalidSubmission, validate_case_report, validate_dicom
from medshare_shared.events import RecordKind

RETRY_AFTER_S = "5"


def ingest_router(
    desk: SubmissionDesk,
    institutions: InstitutionDirectory,
    max_object_bytes: int,
    max_instances: int = 1000,
) -> APIRouter:
    router = APIRouter(tags=["ingest"])

    async def read_body(request: Request) -> bytes | JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_object_bytes:
            return _error(413, f"object larger than {max_object_bytes} bytes")
        body = await request.body()
        if len(body) > max_object_bytes:
            return _error(413, f"object larger than {max_object_bytes} bytes")
        if not body:
            return _error(422, "empty body")
        return body

    async def submit(request: Request, kind: RecordKind, content_type: str) -> JSONResponse:
        institution = institutions.resolve(request)
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            if kind == "dicom":
                validate_dicom(body)
            else:
                validate_case_report(body)
        except InvalidSubmission as error:
            return _error(422, str(error))
        submission = Submission(
            institution=institution,
            kind=kind,
            content_type=content_type,
            data=body,
            submission_id=request.headers.get("x-submission-id"),
        )
        try:
            accepted = await desk.accept(submission)
        except PublishFailed as error:
            return _error(503, str(error), headers={"Retry-After": RETRY_AFTER_S})
        return JSONResponse(
            {
                "record_id": accepted.record_id,
                "sha256": accepted.sha256,
                "institution": institution,
                "status": "duplicate" if accepted.duplicate else "accepted",
            },
            status_code=200 if accepted.duplicate else 202,
        )

    @router.post("/instances", status_code=202)
    async def post_instance(request: Request) -> JSONResponse:
        """One DICOM Part 10 instance as the body (Content-Type: application/dicom)."""
        if _media_type(request) != "application/dicom":
            return _error(415, "expected Content-Type: application/dicom")
        return await submit(request, "dicom", "application/dicom")

    @router.post("/case-reports", status_code=202)
    async def post_case_report(request: Request) -> JSONResponse:
        """One case report in the project's JSON schema (Content-Type: application/json)."""
        if _media_type(request) != "application/json":
            return _error(415, "expected Content-Type: application/json")
        return await submit(request, "case_report", "application/json")

    async def stow(request: Request, study: str | None) -> JSONResponse:
        institution = institutions.resolve(request)
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            parts = split_multipart(body, request.headers.get("content-type", ""))
        except MultipartError as error:
            status = 415 if "Content-Type" in str(error) or "type" in str(error) else 400
            return _error(status, str(error))
        if len(parts) > max_instances:
            return _error(413, f"more than {max_instances} instances in one request")
        outcomes = [await store_part(institution, payload, study) for _, payload in parts]
        status, answer = stow_response(outcomes)
        return JSONResponse(answer, status_code=status, media_type="application/dicom+json")

    async def store_part(institution: str, payload: bytes, study: str | None) -> InstanceOutcome:
        sop_class, sop_instance, study_uid = identify(payload)
        try:
            validate_dicom(payload)
        except InvalidSubmission as error:
            return InstanceOutcome(sop_class, sop_instance, FAILURE_CANNOT_UNDERSTAND, str(error))
        if study and study_uid != study:
            return InstanceOutcome(
                sop_class,
                sop_instance,
                FAILURE_SOP_CLASS_MISMATCH,
                "StudyInstanceUID differs from the study in the URL",
            )
        try:
            accepted = await desk.accept(
                Submission(institution, "dicom", "application/dicom", payload)
            )
        except PublishFailed as error:
            return InstanceOutcome(sop_class, sop_instance, FAILURE_OUT_OF_RESOURCES, str(error))
        return InstanceOutcome(
            sop_class, sop_instance, record_id=accepted.record_id, duplicate=accepted.duplicate
        )

    @router.post("/studies")
    async def stow_studies(request: Request) -> JSONResponse:
        """DICOMweb STOW-RS: multipart/related; type="application/dicom"."""
        return await stow(request, None)

    @router.post("/studies/{study}")
    async def stow_study(request: Request, study: str) -> JSONResponse:
        """DICOMweb STOW-RS into one study: instances of other studies are refused."""
        return await stow(request, study)

    return router


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
