"""Researcher-facing HTTP API: search, facets, statistics, record detail, downloads.

Every route authenticates through `Access.caller`, narrows its query by the
caller's scope (data-use agreements; researchers see released records only) and
writes an audit entry naming the record ids it returned.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from medshare_catalog.api.access import Access, Caller
from medshare_catalog.query.search import QueryError, Searcher, SearchQuery
from medshare_catalog.query.small_cells import suppress_small_cells
from medshare_catalog.query.stats import Statistics
from medshare_catalog.store.derive import record_lineage
from medshare_catalog.store.record import CatalogRecord, Document
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.shared_zone import NotAnImage, OutsideSharedZone, SharedZone

HIDDEN_FIELDS = {
    "_id",
    "cataloged",
    "revision",
    "text_tokens",
    "deid",
    "object_outside_shared_zone",
    "facet_cell",
    "facet_op",
}


class SearchPage(BaseModel):
    """A page of `GET /records`."""

    total: int = Field(
        description="matching records; with total_is_lower_bound, more than this many"
    )
    total_is_lower_bound: bool = Field(
        description="true when the search matched more than MEDSHARE_CATALOG_EXACT_TOTAL_UP_TO "
        "(default 1000) records and did not ask for exact_total: `total` is then that bound "
        'and the answer reads "more than total"'
    )
    items: list[dict[str, Any]] = Field(description="result cards, newest first")
    next: str | None = Field(description="cursor of the next page, null on the last")


def public_view(document: CatalogRecord | Document, with_lineage: bool = False) -> dict[str, Any]:
    view = {key: value for key, value in document.items() if key not in HIDDEN_FIELDS}
    view["record_id"] = document["_id"]
    quarantine: Document = dict(document.get("quarantine") or {})
    if quarantine:
        # The held candidate is for stewards (api/review.py), not in every view.
        view["quarantine"] = {k: v for k, v in quarantine.items() if k != "candidate"}
    if with_lineage:
        view["lineage"] = record_lineage(document)
    return view


def search_query(
    kind: Annotated[list[Literal["dicom", "case_report"]] | None, Query()] = None,
    modality: Annotated[list[str] | None, Query(description="e.g. CT, MR")] = None,
    body_part: Annotated[list[str] | None, Query()] = None,
    study_year: Annotated[list[int] | None, Query()] = None,
    year_from: int | None = None,
    year_to: int | None = None,
    age_band: Annotated[list[str] | None, Query(description="e.g. 40-49, 90+")] = None,
    sex: Annotated[list[str] | None, Query(description="F, M, O, U")] = None,
    institution: Annotated[list[str] | None, Query()] = None,
    zip3: Annotated[list[str] | None, Query()] = None,
    diagnosis: Annotated[
        list[str] | None, Query(description="diagnosis code; a trailing * matches a prefix")
    ] = None,
    model: Annotated[str | None, Query(description="model name with a result")] = None,
    model_version: str | None = None,
    output: Annotated[str | None, Query(description="model output field")] = None,
    output_min: float | None = None,
    output_max: float | None = None,
    output_value: Annotated[
        str | None, Query(description="exact value (true/false, label)")
    ] = None,
    release: Annotated[
        list[Literal["released", "withheld", "rejected", "pending"]] | None,
        Query(description="release state (stewards and admins see all states)"),
    ] = None,
    q: Annotated[str | None, Query(description="free text; word* matches a prefix")] = None,
) -> SearchQuery:
    given = {
        "kind": kind,
        "modality": modality,
        "body_part": body_part,
        "study_year": study_year,
        "year_from": year_from,
        "year_to": year_to,
        "age_band": age_band,
        "sex": sex,
        "institution": institution,
        "zip3": zip3,
        "diagnosis": diagnosis,
        "model": model,
        "model_version": model_version,
        "output": output,
        "output_min": output_min,
        "output_max": output_max,
        "output_value": output_value,
        "release": release,
        "q": q,
    }
    try:
        return SearchQuery.from_dict({k: v for k, v in given.items() if v is not None})
    except QueryError as error:
        raise HTTPException(422, detail=str(error)) from None


SearchParams = Annotated[SearchQuery, Depends(search_query)]


async def visible_record(
    caller: Caller, records: RecordStore, record_id: str, action: str
) -> CatalogRecord:
    """The record if it exists and the caller may see it; 404 (audited) otherwise."""
    document = await records.get(record_id)
    if document is None or not caller.scope.allows(document):
        outcome = "denied" if document is not None else "not_found"
        await caller.audit(action, record_ids=[record_id], status=404, outcome=outcome)
        raise HTTPException(404, detail=f"no record {record_id} visible to you")
    return document


def records_router(
    records: RecordStore, searcher: Searcher, access: Access, zone: SharedZone, thumbnail_px: int,
    max_page: int, small_cell: int = 5,
) -> APIRouter:  # fmt: skip
    def published(caller: Caller, counts: dict[str, Any]) -> dict[str, Any]:
        """Researchers get small counts as "<k"; stewards and admins see them exactly."""
        if caller.principal.is_curator:
            return counts
        shown: dict[str, Any] = suppress_small_cells(counts, small_cell)
        return shown

    router = APIRouter(tags=["records"])

    @router.get("/me", summary="Who the token belongs to and what it may see")
    async def me(caller: Annotated[Caller, Depends(access.caller("whoami"))]) -> dict[str, Any]:
        await caller.audit("whoami")
        scope = caller.scope
        return {
            "user": caller.principal.user,
            "role": caller.principal.role,
            "projects": list(scope.projects),
            "sees_all_records": scope.unrestricted,
            "agreements": [
                {"institution": g.institution, "project": g.project, "kinds": list(g.kinds)}
                for g in scope.grants
            ],
        }

    @router.get("/records", summary="Search records (keyset pages, newest first)")
    async def list_records(
        caller: Annotated[Caller, Depends(access.caller("search"))],
        query: SearchParams,
        limit: Annotated[int, Query(ge=1)] = 50,
        cursor: Annotated[str | None, Query(description="`next` of the previous page")] = None,
        sort: Literal["recent", "id"] = "recent",
        exact_total: Annotated[
            bool,
            Query(
                description="count every match (slower on large results); by default the "
                "total is exact up to MEDSHARE_CATALOG_EXACT_TOTAL_UP_TO and a lower bound above"
            ),
        ] = False,
    ) -> SearchPage:
        try:
            page = await searcher.page(
                caller.scope.record_filter(),
                query,
                limit=min(limit, max_page),
                cursor=cursor,
                sort=sort,
                exact_total=exact_total,
            )
        except QueryError as error:
            raise await caller.refuse(422, str(error), "search") from None
        items = [public_view(doc) for doc in page.items]
        await caller.audit("search", record_ids=[item["record_id"] for item in items])
        return SearchPage(
            total=page.total,
            total_is_lower_bound=page.total_is_lower_bound,
            items=items,
            next=page.next_cursor,
        )

    @router.get("/records/facets", summary="Counts per value of each filter field")
    async def facets(
        caller: Annotated[Caller, Depends(access.caller("facets"))], query: SearchParams
    ) -> dict[str, Any]:
        try:
            counts = await searcher.facets(caller.scope.record_filter(), query)
        except QueryError as error:
            raise await caller.refuse(422, str(error), "facets") from None
        await caller.audit("facets")
        return published(caller, counts)

    @router.get("/records/stats", summary="Summary statistics and model-output distributions")
    async def stats(
        caller: Annotated[Caller, Depends(access.caller("stats"))], query: SearchParams
    ) -> dict[str, Any]:
        try:
            summary = await Statistics(searcher).summary(caller.scope.record_filter(), query)
        except QueryError as error:
            raise await caller.refuse(422, str(error), "stats") from None
        await caller.audit("stats")
        return published(caller, summary)

    @router.get("/records/diagnosis-names", summary="Display names of diagnosis codes")
    async def diagnosis_names(
        caller: Annotated[Caller, Depends(access.caller("diagnosis_names"))],
        code: Annotated[list[str], Query(max_length=50)],
    ) -> dict[str, str | None]:
        """As the caller's visible records name them (the facets count codes only)."""
        names: dict[str, str | None] = {}
        for wanted in dict.fromkeys(c.strip().upper() for c in code if c.strip()):
            names[wanted] = await records.diagnosis_name(caller.scope.record_filter(), wanted)
        await caller.audit("diagnosis_names")
        return names

    @router.get("/records/{record_id}", summary="One record with its lineage and model results")
    async def get_record(
        record_id: str, caller: Annotated[Caller, Depends(access.caller("view"))]
    ) -> dict[str, Any]:
        document = await visible_record(caller, records, record_id, "view")
        await caller.audit("view", record_ids=[record_id])
        return public_view(document, with_lineage=True)

    @router.get("/records/{record_id}/download", summary="A time-limited download link")
    async def download(
        record_id: str, caller: Annotated[Caller, Depends(access.caller("download_link"))]
    ) -> dict[str, Any]:
        document = await visible_record(caller, records, record_id, "download_link")
        try:
            link = zone.presigned(document)
        except OutsideSharedZone as error:
            raise await caller.refuse(409, str(error), "download_link", [record_id]) from None
        await caller.audit(
            "download_link", record_ids=[record_id], extra={"expires_at": link.expires_at}
        )
        stored: Document = dict(document.get("object") or {})
        return {
            "record_id": record_id,
            "url": link.url,
            "expires_at": link.expires_at,
            "expires_in_s": int(zone.expiry.total_seconds()),
            "sha256": stored.get("sha256"),
            "content_type": stored.get("content_type"),
        }

    @router.get(
        "/records/{record_id}/thumbnail.png",
        summary="A PNG thumbnail of a de-identified image",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    async def thumbnail(
        record_id: str, caller: Annotated[Caller, Depends(access.caller("thumbnail"))]
    ) -> Response:
        document = await visible_record(caller, records, record_id, "thumbnail")
        try:
            png = await zone.thumbnail(document, thumbnail_px)
        except OutsideSharedZone as error:
            raise await caller.refuse(409, str(error), "thumbnail", [record_id]) from None
        except NotAnImage as error:
            await caller.audit("thumbnail", record_ids=[record_id], status=404, outcome="none")
            raise HTTPException(404, detail=str(error)) from None
        await caller.audit("thumbnail", record_ids=[record_id])
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
        )

    return router
