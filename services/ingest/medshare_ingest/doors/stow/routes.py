"""The STOW-RS routes: each instance of a request checked and stored (or refused) on its own."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from medshare_ingest.doors.http.requests import DICOM, Doors, error_response
from medshare_ingest.doors.stow.multipart import MultipartError, multipart_boundary, split_multipart
from medshare_ingest.doors.stow.outcomes import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_DATA_SET_MISMATCH,
    FAILURE_FOR_REFUSAL,
    FAILURE_OUT_OF_RESOURCES,
    InstanceOutcome,
    identify,
    stow_response,
)
from medshare_ingest.limits import InvalidSubmission, printable_uid
from medshare_ingest.metrics import INGEST_SUBMISSIONS
from medshare_ingest.submissions import NotAccepted, Submission
from medshare_ingest.validation import validate_dicom

# Instances of one STOW-RS request checked and stored at a time.
STOW_CONCURRENCY = 4


def stow_router(doors: Doors) -> APIRouter:
    router = APIRouter()

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
        return error_response(error.http_status, str(error))
    body = await doors.body(request, doors.limits.max_request_bytes, "MEDSHARE_MAX_REQUEST_BYTES")
    if isinstance(body, JSONResponse):
        return body
    try:
        parts = split_multipart(body, content_type)
    except MultipartError as error:
        return error_response(error.http_status, str(error))
    if len(parts) > doors.limits.max_instances_per_request:
        return error_response(
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
        # Every parse runs off the event loop: a hostile part must not stall other clients.
        uids = await self.doors.desk.run_blocking(identify, payload, self.doors.limits.dicom)
        sop_class, sop_instance, _ = (printable_uid(uid) if uid else "" for uid in uids)
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
                    Submission(self.institution, "dicom", DICOM, payload, door="stow")
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
