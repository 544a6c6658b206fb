"""What the HTTP doors (single instances, case reports, STOW-RS) share: reading a capped
body, checking it, handing it to the desk, and answering every refusal as `{"error": reason}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from medshare_ingest.institutions import InstitutionDirectory
from medshare_ingest.limits import IngestLimits, InvalidSubmission
from medshare_ingest.metrics import INGEST_SUBMISSIONS
from medshare_ingest.submissions import Accepted, NotAccepted, Submission, SubmissionDesk
from medshare_ingest.validation import check_case_report, validate_dicom

DICOM = "application/dicom"


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
        return error_response(503, str(error), {"Retry-After": str(self.retry_after_s)})

    async def body(self, request: Request, cap: int, setting: str) -> bytes | JSONResponse:
        try:
            body = await read_capped(request, cap)
        except BodyTooLarge:
            return error_response(413, f"request body larger than {cap} bytes ({setting})")
        return body if body else error_response(422, "empty body")

    async def submit_one(
        self, request: Request, institution: str, door: str, check: DoorCheck, media_type: str
    ) -> JSONResponse:
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
            return error_response(error.http_status, str(error))
        submission = Submission(
            institution=institution,
            kind="dicom" if content_type == DICOM else "case_report",
            content_type=content_type,
            data=body,
            submission_id=submission_id(request),
            door=door,
        )
        try:
            accepted = await self.desk.accept(submission)
        except NotAccepted as error:
            INGEST_SUBMISSIONS.labels(door, "unavailable").inc()
            return self.unavailable(error)
        INGEST_SUBMISSIONS.labels(door, "duplicate" if accepted.duplicate else "accepted").inc()
        return accepted_response(accepted, institution)


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
        content_type: str = await self.desk.run_blocking(
            check_case_report, body, media_type, self.limits
        )
        return content_type


def accepted_response(accepted: Accepted, institution: str) -> JSONResponse:
    return JSONResponse(
        {
            "record_id": accepted.record_id,
            "sha256": accepted.sha256,
            "institution": institution,
            "status": "duplicate" if accepted.duplicate else "accepted",
        },
        status_code=200 if accepted.duplicate else 202,
    )


def submission_id(request: Request) -> str | None:
    value = request.headers.get("x-submission-id", "").strip()
    return value[:128] or None


def request_media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def http_error_as_json(_: Request, error: Exception) -> JSONResponse:
    """FastAPI's HTTPException (authentication) in the same `{"error": ...}` shape."""
    assert isinstance(error, HTTPException)
    return error_response(error.status_code, str(error.detail), dict(error.headers or {}))
