"""Steward review: the queue of withheld records, what each one withholds, and the decision.

A steward opens a withheld record and sees what would be released: a thumbnail of
the image or the case report's text, the reason, the verifier's findings and the
flagged regions (where the anonymizer expects burned-in text, or the cells the
text detector flagged). Records the anonymizer quarantined are never cataloged,
so they are read here from their held candidate (store/held_zone.py), not through
the researcher routes. Every opening, preview and decision is audited.

A decision is appended to the record's reviews (never overwritten) and shows in
its lineage. A release stands until something newer withholds the record again
(e.g. a later detector version flags text); a rejection stands until the next
review. Releasing a quarantined record copies its candidate into the shared zone.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from medshare_catalog.api.access import CURATORS, Access, Caller
from medshare_catalog.api.records import public_view
from medshare_catalog.store.held_zone import HeldZone, NoCandidate, candidate_of
from medshare_catalog.store.record import CatalogRecord, Document
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.shared_zone import NotAnImage, OutsideSharedZone, SharedZone
from medshare_catalog.store.thumbnails import render_thumbnail

Preview = Literal["shared", "held"]


class ReviewDecision(BaseModel):
    decision: Literal["release", "reject"]
    reason: str = Field(min_length=3, max_length=2000)


def preview_source(document: CatalogRecord) -> Preview | None:
    """Where the steward's preview comes from: the shared copy, the held candidate, or none."""
    if document.get("cataloged"):
        return "shared"
    if (document.get("quarantine") or {}).get("candidate"):
        return "held"
    return None


def flagged_regions(document: CatalogRecord) -> list[Document]:
    """Fractions of the frame: the anonymizer's expected text regions, the detector's cells."""
    regions: list[Document] = list((document.get("quarantine") or {}).get("regions") or [])
    for result in document.get("results") or []:
        outputs = result.get("outputs") or {}
        cells, grid = outputs.get("text_cells"), outputs.get("grid")
        if not cells or not isinstance(grid, list) or not grid:
            continue
        size = len(grid)
        source = f"{result.get('model_name')} {result.get('model_version')}"
        for row, column in cells:
            regions.append(
                {"x0": column / size, "y0": row / size, "x1": (column + 1) / size,
                 "y1": (row + 1) / size, "source": source}
            )  # fmt: skip
    return regions


def review_view(document: CatalogRecord) -> dict[str, Any]:
    view = public_view(document, with_lineage=True)
    source = preview_source(document)
    quarantine = document.get("quarantine") or {}
    view["preview"] = source
    view["releasable"] = source is not None
    view["findings"] = quarantine.get("findings") or []
    view["flagged_regions"] = flagged_regions(document)
    if source == "held":
        candidate = quarantine["candidate"]
        view["candidate"] = {
            key: candidate.get(key) for key in ("content_type", "sha256", "size", "metadata")
        }
    return view


def review_router(
    records: RecordStore, access: Access, zone: SharedZone, held: HeldZone, thumbnail_px: int
) -> APIRouter:
    router = APIRouter(tags=["review"])

    async def withheld(caller: Caller, record_id: str, action: str) -> CatalogRecord:
        document = await records.get_any(record_id)
        if document is None:
            await caller.audit(action, record_ids=[record_id], status=404, outcome="not_found")
            raise HTTPException(404, detail=f"no record {record_id}")
        return document

    @router.get("/review/queue", summary="Withheld records awaiting a steward (stewards, admins)")
    async def queue(
        caller: Annotated[Caller, Depends(access.caller("review_queue", CURATORS))],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[
            str | None, Query(description="last record_id of the previous page")
        ] = None,
        state: Literal["withheld", "rejected", "pending"] = "withheld",
    ) -> dict[str, Any]:
        total, found = await records.review_queue(state, cursor, limit)
        items = []
        for document in found:
            view = public_view(document)
            view["preview"] = preview_source(document)
            view["releasable"] = view["preview"] is not None
            items.append(view)
        await caller.audit("review_queue", record_ids=[item["record_id"] for item in items])
        following = items[-1]["record_id"] if len(items) == limit else None
        return {"total": total, "items": items, "next": following}

    @router.get("/review/{record_id}", summary="What a withheld record would release, and why not")
    async def open_item(
        record_id: str, caller: Annotated[Caller, Depends(access.caller("review_open", CURATORS))]
    ) -> dict[str, Any]:
        document = await withheld(caller, record_id, "review_open")
        await caller.audit("review_open", record_ids=[record_id])
        return review_view(document)

    @router.get(
        "/review/{record_id}/preview.png",
        summary="A thumbnail of the image a steward would release",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    async def preview(
        record_id: str,
        caller: Annotated[Caller, Depends(access.caller("review_preview", CURATORS))],
    ) -> Response:
        document = await withheld(caller, record_id, "review_preview")
        source = preview_source(document)
        try:
            if document.get("kind") != "dicom" or source is None:
                raise NotAnImage("no image to preview")
            if source == "shared":
                png = await zone.thumbnail(document, thumbnail_px)
            else:
                _, data = await held.read(document)
                try:  # not cached: a candidate's pixels may carry text; they stay held
                    png = await asyncio.to_thread(render_thumbnail, data, thumbnail_px)
                except Exception as error:  # pydicom/numpy raise many types for odd pixels
                    raise NotAnImage(
                        f"pixel data not renderable ({type(error).__name__})"
                    ) from None
        except (NotAnImage, NoCandidate, OutsideSharedZone) as error:
            raise await caller.refuse(404, str(error), "review_preview", [record_id]) from None
        await caller.audit("review_preview", record_ids=[record_id], extra={"source": source})
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @router.get("/review/{record_id}/text", summary="The case report a steward would release")
    async def text(
        record_id: str,
        caller: Annotated[Caller, Depends(access.caller("review_text", CURATORS))],
    ) -> dict[str, Any]:
        document = await withheld(caller, record_id, "review_text")
        source = preview_source(document)
        try:
            if document.get("kind") != "case_report" or source is None:
                raise NoCandidate("no case-report text to show")
            if source == "shared":
                body = HeldZone.parse(await zone.read(document))
            else:
                body = await held.text(document)
        except (NoCandidate, OutsideSharedZone, ValueError) as error:
            detail = str(error) if not isinstance(error, ValueError) else "text not readable"
            raise await caller.refuse(404, detail, "review_text", [record_id]) from None
        await caller.audit("review_text", record_ids=[record_id], extra={"source": source})
        return {"record_id": record_id, "source": source, "document": body}

    @router.post("/records/{record_id}/review", summary="Release or reject a record, with a reason")
    async def review(
        record_id: str,
        decision: ReviewDecision,
        caller: Annotated[Caller, Depends(access.caller("review", CURATORS))],
    ) -> dict[str, Any]:
        document = await withheld(caller, record_id, "review")
        held_only = not document.get("cataloged")
        if decision.decision == "release" and held_only:
            try:
                candidate_of(document)
            except NoCandidate:
                detail = (
                    "nothing to release: no de-identified candidate was kept for this record "
                    "(it could not be de-identified); reject it or fix and resubmit"
                )
                raise await caller.refuse(409, detail, "review", [record_id]) from None
        # One time for the review and the release's fold: the review then covers it.
        at = datetime.now(UTC)
        updated = await records.add_review(
            record_id, caller.principal.user, decision.decision, decision.reason, at=at
        )
        assert updated is not None
        if decision.decision == "release" and held_only:
            # Reviewed first, then cataloged: never visible before the decision is stored.
            promoted = await held.promote(document)
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"medshare-release:{record_id}:{at}"))
            await records.fold_deidentified(promoted, event_id, at)
            updated = await records.get_any(record_id)
            assert updated is not None
        await caller.audit(
            "review",
            record_ids=[record_id],
            query={"decision": decision.decision, "reason": decision.reason},
            extra={"release": updated.get("release"), "from_held_zone": held_only},
        )
        return review_view(updated)

    return router
