"""Researcher-facing HTTP API: list and read catalog records."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query

from medshare_catalog.records import Document, RecordStore


def public_view(document: Document) -> dict[str, Any]:
    view = {key: value for key, value in document.items() if key not in {"_id", "cataloged"}}
    view["record_id"] = document["_id"]
    return view


def records_router(records: RecordStore) -> APIRouter:
    router = APIRouter(tags=["records"])

    @router.get("/records")
    async def list_records(
        kind: Literal["dicom", "case_report"] | None = None,
        institution: str | None = None,
        limit: int = Query(default=50, ge=1, le=500),
        after: str | None = Query(default=None, description="cursor: the last record_id seen"),
    ) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        if kind:
            filters["kind"] = kind
        if institution:
            filters["institution"] = institution
        documents, total = await records.page(filters, limit, after)
        items = [public_view(doc) for doc in documents]
        next_cursor = items[-1]["record_id"] if len(items) == limit else None
        return {"total": total, "items": items, "next": next_cursor}

    @router.get("/records/{record_id}")
    async def get_record(record_id: str) -> dict[str, Any]:
        document = await records.get(record_id)
        if document is None:
            raise HTTPException(404, detail=f"no record {record_id}")
        return public_view(document)

    return router
