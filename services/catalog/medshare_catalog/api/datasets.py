"""HTTP routes for datasets: save a query, check its risk, freeze, export, download.

Researchers may only touch datasets of projects they belong to; what a dataset
holds and whether it may be frozen is the risk gate's to say (datasets/gate.py).
"""

from collections.abc import Awaitable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from medshare_catalog.api.access import Access, Caller
from medshare_catalog.datasets.archive import stream_archive
from medshare_catalog.datasets.gate import FreezeBusy, RiskGate, RiskTooHigh
from medshare_catalog.datasets.manifest import (
    manifest_csv,
    manifest_header,
    manifest_json,
    public_dataset,
)
from medshare_catalog.query.filters import QueryFilters
from medshare_catalog.query.search import QueryError, SearchQuery
from medshare_catalog.store.agreements import Directory
from medshare_catalog.store.datasets import DatasetStore
from medshare_catalog.store.record import Document
from medshare_catalog.store.shared_zone import SharedZone

T = TypeVar("T")


class NewDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    project: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")
    query: QueryFilters = Field(default_factory=QueryFilters, description="the /records filters")


def dataset_router(
    datasets: DatasetStore,
    gate: RiskGate,
    directory: Directory,
    access: Access,
    zone: SharedZone,
) -> APIRouter:
    router = APIRouter(tags=["datasets"])

    async def reachable(caller: Caller, dataset_id: str, action: str) -> Document:
        dataset = await datasets.get(dataset_id)
        allowed = dataset is not None and (
            caller.scope.unrestricted or dataset["project"] in caller.scope.projects
        )
        if dataset is None or not allowed:
            outcome = "denied" if dataset is not None else "not_found"
            await caller.audit(
                action, status=404, outcome=outcome, extra={"dataset_id": dataset_id}
            )
            raise HTTPException(404, detail=f"no dataset {dataset_id} visible to you")
        return dataset

    async def frozen(caller: Caller, dataset_id: str, action: str) -> tuple[Document, list[str]]:
        """A frozen dataset whose records today's agreements still share (else 409/403)."""
        dataset = await reachable(caller, dataset_id, action)
        if dataset["state"] != "frozen":
            raise await caller.refuse(409, "freeze the dataset first", action)
        ids = await datasets.record_ids(dataset_id)
        # Agreements can end after freezing: manifests and bytes follow today's agreements
        # (stewards and admins see every record anyway).
        if caller.scope.unrestricted:
            return dataset, ids
        still = await gate.still_shared(dataset["project"], ids)
        if still != len(ids):
            detail = f"{len(ids) - still} record(s) are no longer shared with the project"
            raise await caller.refuse(403, detail, action, ids)
        return dataset, ids

    async def evaluated(caller: Caller, action: str, work: Awaitable[T]) -> T:
        """A stored query that no longer validates is refused (422), never run."""
        try:
            return await work
        except QueryError as error:
            raise await caller.refuse(422, f"stored query invalid: {error}", action) from None

    @router.post("/datasets", status_code=201, summary="Save a query as a named dataset")
    async def create(
        body: NewDataset, caller: Annotated[Caller, Depends(access.caller("dataset_create"))]
    ) -> Document:
        try:
            query = SearchQuery(**body.query.model_dump())
            query.to_filter()
        except QueryError as error:
            raise await caller.refuse(422, f"query: {error}", "dataset_create") from None
        if caller.scope.unrestricted:
            if await directory.project(body.project) is None:
                raise await caller.refuse(404, f"no project {body.project}", "dataset_create")
        elif body.project not in caller.scope.projects:
            raise await caller.refuse(
                403, f"not a member of project {body.project}", "dataset_create"
            )
        dataset = await datasets.create(
            body.name, body.project, caller.principal.user, query.as_dict()
        )
        await caller.audit(
            "dataset_create", query=query.as_dict(), extra={"dataset_id": dataset["_id"]}
        )
        return public_dataset(dataset)

    @router.get("/datasets", summary="Datasets of your projects")
    async def list_datasets(
        caller: Annotated[Caller, Depends(access.caller("dataset_list"))],
    ) -> list[Document]:
        scope = caller.scope
        found = await datasets.in_projects(None if scope.unrestricted else list(scope.projects))
        await caller.audit("dataset_list")
        return [public_dataset(d) for d in found]

    @router.get("/datasets/{dataset_id}", summary="One dataset (with k once checked or frozen)")
    async def get_dataset(
        dataset_id: str, caller: Annotated[Caller, Depends(access.caller("dataset_view"))]
    ) -> Document:
        dataset = await reachable(caller, dataset_id, "dataset_view")
        await caller.audit("dataset_view", extra={"dataset_id": dataset_id})
        return public_dataset(dataset)

    @router.get("/datasets/{dataset_id}/risk", summary="k-anonymity and l-diversity now")
    async def risk(
        dataset_id: str, caller: Annotated[Caller, Depends(access.caller("dataset_risk"))]
    ) -> Document:
        dataset = await reachable(caller, dataset_id, "dataset_risk")
        report = await evaluated(caller, "dataset_risk", gate.risk(dataset))
        await caller.audit("dataset_risk", extra={"dataset_id": dataset_id, "k": report["k"]})
        return report

    @router.post(
        "/datasets/{dataset_id}/freeze",
        summary="Freeze: a manifest of exact record ids and hashes, if the risk is acceptable",
        responses={409: {"description": "k or l below the requirement; the report says why"}},
    )
    async def freeze(
        dataset_id: str, caller: Annotated[Caller, Depends(access.caller("dataset_freeze"))]
    ) -> Document:
        dataset = await reachable(caller, dataset_id, "dataset_freeze")
        try:
            done, records = await evaluated(
                caller, "dataset_freeze", gate.freeze(dataset, caller.principal.user)
            )
        except FreezeBusy as busy:
            raise await caller.refuse(409, str(busy), "dataset_freeze") from None
        except RiskTooHigh as refused:
            report, message = refused.report, str(refused)
            await caller.audit(
                "dataset_freeze",
                status=409,
                outcome="refused",
                detail=message,
                extra={"dataset_id": dataset_id, "k": report["k"]},
            )
            raise HTTPException(409, detail={"message": message, "risk": report}) from None
        await caller.audit(
            "dataset_freeze",
            record_ids=[r["_id"] for r in records],
            extra={"dataset_id": dataset_id, "manifest_sha256": done["manifest"]["sha256"]},
        )
        return public_dataset(done)

    @router.get("/datasets/{dataset_id}/manifest.{fmt}", summary="The frozen manifest (json, csv)")
    async def manifest(
        dataset_id: str,
        fmt: Literal["json", "csv"],
        caller: Annotated[Caller, Depends(access.caller("export"))],
    ) -> StreamingResponse:
        dataset, ids = await frozen(caller, dataset_id, "export")
        await caller.audit(
            "export",
            record_ids=ids,
            extra={"dataset_id": dataset_id, "format": fmt},
        )
        name = f"dataset-{dataset_id}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "csv":
            body = manifest_csv(datasets.entries(dataset_id))
            return StreamingResponse(body, media_type="text/csv", headers=disposition)
        body = manifest_json(dataset, datasets.entries(dataset_id))
        return StreamingResponse(body, media_type="application/json", headers=disposition)

    @router.get("/datasets/{dataset_id}/archive", summary="The frozen dataset's objects, streamed")
    async def archive(
        dataset_id: str,
        caller: Annotated[Caller, Depends(access.caller("archive"))],
        format: Literal["zip", "tar"] = "zip",
    ) -> StreamingResponse:
        dataset, ids = await frozen(caller, dataset_id, "archive")
        entries = [entry async for entry in datasets.entries(dataset_id)]
        await caller.audit(
            "archive", record_ids=ids, extra={"dataset_id": dataset_id, "format": format}
        )
        media = "application/zip" if format == "zip" else "application/x-tar"
        name = f"dataset-{dataset_id}.{format}"
        return StreamingResponse(
            stream_archive(format, manifest_header(dataset), entries, zone.read_entry),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
