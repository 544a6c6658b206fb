"""HTTP doors: one DICOM instance, one case report (JSON or FHIR R4 Bundle), DICOMweb STOW-RS.

Every refusal is a JSON body `{"error": reason}`: 401/403 for who is asking, 413 for
a limit, 415 for a media type (or SOP class / transfer syntax) not taken, 422 for
content that is not what it claims, 503 with Retry-After when a dependency is down
(nothing was acknowledged, a retry is safe). Nothing is stored before the whole
body has been read and checked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.limits import IngestLimits, InvalidSubmission, printable_uid
from medshare_ingest.stow import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_DATA_SET_MISMATCH,
    FAILURE_FOR_REFUSAL,
    FAILURE_OUT_OF_RESOURCES,
    InstanceOutcome,
    MultipartError,
    identify,
    multipart_boundary,
    split_multipart,
    stow_response,
)
from medshare_ingest.submissions import Accepted, NotAccepted, Submission, SubmissionDesk
from medshare_ingest.validation import FHIR_MEDIA_TYPES, check_case_report, validate_dicom
from medshare_shared.metrics import INGEST_SUBMISSIONS

DICOM = "application/dicom"
# Instances of one STOW-RS request checked and stored at a time.
STOW_CONCURRENCY = 4


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request, cap: int) -> bytes:
    """The request body, refusing as soon as it is known to exceed `cap` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class Doors:
    desk: SubmissionDesk
    institutions: InstitutionDirectory
    limits: IngestLimits
    retry_after_s: int

    def unavailable(self, error: NotAccepted) -> JSONResponse:
        return _error(503, str(error), {"Retry-After": str(self.retry_after_s)})

    async def body(self, request: Request, cap: int, setting: str) -> bytes | JSONResponse:
        try:
            body = await read_capped(request, cap)
        except BodyTooLarge:
            return _error(413, f"request body larger than {cap} bytes ({setting})")
        return body if body else _error(422, "empty body")

    async def submit_one(
        self, request: Request, door: str, check: DoorCheck, media_type: str
    ) -> JSONResponse:
        institution = self.institutions.resolve(request)
        cap = min(self.limits.max_object_bytes, self.limits.max_request_bytes)
        setting = (
            "MEDSHARE_MAX_OBJECT_BYTES"
            if cap == self.limits.max_object_bytes
            else "MEDSHARE_MAX_REQUEST_BYTES"
        )
        body = await self.body(request, cap, setting)
        if isinstance(body, JSONResponse):
            INGEST_SUBMISSIONS.labels(door, "refused").inc()
            return body
        try:
            content_type = await check(body, media_type)
        except InvalidSubmission as error:
            INGEST_SUBMISSIONS.labels(door, "refused").inc()
            return _error(error.http_status, str(error))
        submission = Submission(
            institution=institution,
            kind="dicom" if content_type == DICOM else "case_report",
            content_type=content_type,
            data=body,
            submission_id=_submission_id(request),
        )
        try:
            accepted = await self.desk.accept(submission)
        except NotAccepted as error:
            INGEST_SUBMISSIONS.labels(door, "unavailable").inc()
            return self.unavailable(error)
        INGEST_SUBMISSIONS.labels(door, "duplicate" if accepted.duplicate else "accepted").inc()
        return _accepted_response(accepted, institution)


class DoorCheck:
    """Validates a body for one door and says which content type to store it under."""

    def __init__(self, desk: SubmissionDesk, limits: IngestLimits, kind: str):
        self.desk = desk
        self.limits = limits
        self.kind = kind

    async def __call__(self, body: bytes, media_type: str) -> str:
        if self.kind == "dicom":
            # Parsing a large instance takes a while: keep the event loop serving.
            await self.desk.run_blocking(validate_dicom, body, self.limits)
            return DICOM
        return check_case_report(body, media_type, self.limits)


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
        if _media_type(request) != DICOM:
            return _error(415, "expected Content-Type: application/dicom")
        return await doors.submit_one(request, "http", dicom_check, DICOM)

    @router.post("/case-reports", status_code=202)
    async def post_case_report(request: Request) -> JSONResponse:
        """One case report: the project's JSON schema (application/json) or a FHIR R4
        Bundle (application/fhir+json)."""
        media_type = _media_type(request)
        if media_type != "application/json" and media_type not in FHIR_MEDIA_TYPES:
            return _error(415, "expected Content-Type: application/json or application/fhir+json")
        return await doors.submit_one(request, "http", case_report_check, media_type)

    @router.post("/studies")
    async def stow_studies(request: Request) -> JSONResponse:
        """DICOMweb STOW-RS: multipart/related; type="application/dicom"."""
        return await stow(doors, request, None)

    @router.post("/studies/{study}")
    async def stow_study(request: Request, study: str) -> JSONResponse:
        """DICOMweb STOW-RS into one study: instances of other studies are refused."""
        return await stow(doors, request, study)

    return router


async def stow(doors: Doors, request: Request, study: str | None) -> JSONResponse:
    institution = doors.institutions.resolve(request)
    content_type = request.headers.get("content-type", "")
    try:
        multipart_boundary(content_type)
    except MultipartError as error:
        return _error(error.http_status, str(error))
    body = await doors.body(request, doors.limits.max_request_bytes, "MEDSHARE_MAX_REQUEST_BYTES")
    if isinstance(body, JSONResponse):
        return body
    try:
        parts = split_multipart(body, content_type)
    except MultipartError as error:
        return _error(error.http_status, str(error))
    if len(parts) > doors.limits.max_instances_per_request:
        return _error(
            413,
            f"more than {doors.limits.max_instances_per_request} instances in one request "
            "(MEDSHARE_MAX_INSTANCES_PER_REQUEST)",
        )
    run = StowRun(doors, institution, study)
    outcomes = await run.store_all(parts)
    status, answer = stow_response(outcomes)
    headers = {}
    if run.unavailable:
        headers["Retry-After"] = str(doors.retry_after_s)
        if not any(outcome.failure_reason is None for outcome in outcomes):
            status = 503  # nothing stored because of an outage: the whole request may be retried
    return JSONResponse(answer, status_code=status, media_type="application/dicom+json",
                        headers=headers)  # fmt: skip


class StowRun:
    """One STOW-RS request: each instance stored or refused on its own."""

    def __init__(self, doors: Doors, institution: str, study: str | None):
        self.doors = doors
        self.institution = institution
        self.study = study
        self.unavailable: NotAccepted | None = None
        self.slots = asyncio.Semaphore(STOW_CONCURRENCY)

    async def store_all(self, parts: list[tuple[dict[str, str], bytes]]) -> list[InstanceOutcome]:
        return list(await asyncio.gather(*(self.store(h, payload) for h, payload in parts)))

    async def store(self, headers: dict[str, str], payload: bytes) -> InstanceOutcome:
        async with self.slots:
            outcome, metric = await self._store(headers, payload)
        INGEST_SUBMISSIONS.labels("stow", metric).inc()
        return outcome

    async def _store(self, headers: dict[str, str], payload: bytes) -> tuple[InstanceOutcome, str]:
        part_type = headers.get("content-type", DICOM).split(";")[0].strip().lower()
        sop_class, sop_instance, _ = (printable_uid(uid) if uid else "" for uid in
                                      identify(payload))  # fmt: skip
        if part_type != DICOM:
            reason = "part is not application/dicom"
            return InstanceOutcome(sop_class, sop_instance, FAILURE_CANNOT_UNDERSTAND, reason), (
                "refused"
            )
        try:
            facts = await self.doors.desk.run_blocking(validate_dicom, payload, self.doors.limits)
        except InvalidSubmission as error:
            failure = FAILURE_FOR_REFUSAL[error.kind]
            return InstanceOutcome(sop_class, sop_instance, failure, str(error)), "refused"
        sop_class, sop_instance = facts.sop_class_uid, facts.sop_instance_uid
        if self.study and facts.study_instance_uid != self.study:
            reason = "StudyInstanceUID differs from the study in the URL"
            return InstanceOutcome(sop_class, sop_instance, FAILURE_DATA_SET_MISMATCH, reason), (
                "refused"
            )
        if self.unavailable is None:
            try:
                accepted = await self.doors.desk.accept(
                    Submission(self.institution, "dicom", DICOM, payload)
                )
            except NotAccepted as error:
                self.unavailable = error
            else:
                outcome = InstanceOutcome(
                    sop_class,
                    sop_instance,
                    record_id=accepted.record_id,
                    duplicate=accepted.duplicate,
                )
                return outcome, "duplicate" if accepted.duplicate else "accepted"
        # Not stored for an outage (the later parts do not wait it out again): retry them.
        reason = str(self.unavailable)
        return InstanceOutcome(sop_class, sop_instance, FAILURE_OUT_OF_RESOURCES, reason), (
            "unavailable"
        )


def _accepted_response(accepted: Accepted, institution: str) -> JSONResponse:
    return JSONResponse(
        {
            "record_id": accepted.record_id,
            "sha256": accepted.sha256,
            "institution": institution,
            "status": "duplicate" if accepted.duplicate else "accepted",
        },
        status_code=200 if accepted.duplicate else 202,
    )


def _submission_id(request: Request) -> str | None:
    value = request.headers.get("x-submission-id", "").strip()
    return value[:128] or None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def http_error_as_json(_: Request, error: Exception) -> JSONResponse:
    """FastAPI's HTTPException (authentication) in the same `{"error": ...}` shape."""
    assert isinstance(error, HTTPException)
    return _error(error.status_code, str(error.detail), dict(error.headers or {}))
