"""Steward review: the queue of withheld records, and release or reject with a reason.

A decision is appended to the record's reviews (never overwritten) and shows in
its lineage. A release stands until something newer withholds the record again
(e.g. a later detector version flags text); a rejection stands until the next
review.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from pymongo import ASCENDING

from medshare_catalog.access import CURATORS, Access, Caller
from medshare_catalog.records import RecordStore
from medshare_catalog.routes import public_view

QUEUE_PROJECTION = {"text_tokens": 0, "revision": 0, "deid": 0, "dicom.attributes": 0}


class ReviewDecision(BaseModel):
    decision: Literal["release", "reject"]
    reason: str = Field(min_length=3, max_length=2000)


def review_router(records: RecordStore, access: Access) -> APIRouter:
    router = APIRouter(tags=["review"])

    @router.get("/review/queue", summary="Withheld records awaiting a steward (stewards, admins)")
    async def queue(
        caller: Annotated[Caller, Depends(access.caller("review_queue", CURATORS))],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[
            str | None, Query(description="last record_id of the previous page")
        ] = None,
        state: Literal["withheld", "rejected", "pending"] = "withheld",
    ) -> dict[str, Any]:
        query: dict[str, Any] = {"release.state": state}
        total = await records.collection.count_documents(query)
        if cursor:
            query["_id"] = {"$gt": cursor}
        found = records.collection.find(query, QUEUE_PROJECTION).sort("_id", ASCENDING)
        items = []
        async for document in found.limit(limit):
            view = public_view(document)
            view["releasable"] = bool(document.get("cataloged"))
            items.append(view)
        await caller.audit("review_queue", record_ids=[item["record_id"] for item in items])
        following = items[-1]["record_id"] if len(items) == limit else None
        return {"total": total, "items": items, "next": following}

    @router.post("/records/{record_id}/review", summary="Release or reject a record, with a reason")
    async def review(
        record_id: str,
        decision: ReviewDecision,
        caller: Annotated[Caller, Depends(access.caller("review", CURATORS))],
    ) -> dict[str, Any]:
        document = await records.get_any(record_id)
        if document is None:
            await caller.audit("review", record_ids=[record_id], status=404, outcome="not_found")
            raise HTTPException(404, detail=f"no record {record_id}")
        if decision.decision == "release" and not document.get("cataloged"):
            detail = (
                "nothing in the shared zone to release (the record never passed de-identification)"
            )
            raise await caller.refuse(409, detail, "review", [record_id])
        updated = await records.add_review(
            record_id, caller.principal.user, decision.decision, decision.reason
        )
        assert updated is not None
        await caller.audit(
            "review",
            record_ids=[record_id],
            query={"decision": decision.decision, "reason": decision.reason},
            extra={"release": updated.get("release")},
        )
        return public_view(updated, with_lineage=True)

    return router
