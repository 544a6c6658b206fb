"""HTTP routes for datasets: save a query, check its risk, freeze, export, download.

A dataset's records are always those its project is entitled to (the project's
data-use agreements, released records only), whoever builds it; researchers may
only touch datasets of projects they belong to.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from medshare_catalog.access import Access, Caller
from medshare_catalog.archive import stream_archive
from medshare_catalog.datasets import (
    DatasetStore,
    manifest_csv,
    manifest_header,
    manifest_json,
    public_dataset,
)
from medshare_catalog.directory import Directory
from medshare_catalog.risk import assess
from medshare_catalog.search import QueryError, Searcher, SearchQuery
from medshare_catalog.shared_zone import SharedZone

Document = dict[str, Any]
CHECK_BATCH = 500


class NewDataset(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    project: str = Field(min_length=1)
    query: dict[str, Any] = Field(default_factory=dict, description="the /records filters")


def dataset_router(
    datasets: DatasetStore,
    searcher: Searcher,
    directory: Directory,
    access: Access,
    zone: SharedZone,
    min_k: int,
    min_l: int,
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

    async def frozen(caller: Caller, dataset_id: str, action: str) -> Document:
        dataset = await reachable(caller, dataset_id, action)
        if dataset["state"] != "frozen":
            raise await caller.refuse(409, "freeze the dataset first", action)
        return dataset

    async def evaluate(dataset: Document) -> tuple[list[Document], Document]:
        scope = await directory.project_scope(dataset["project"])
        query = SearchQuery.from_dict(dataset["query"])
        records = await searcher.ids(scope.record_filter(), query)
        return records, assess(records, min_k, min_l)

    @router.post("/datasets", status_code=201, summary="Save a query as a named dataset")
    async def create(
        body: NewDataset, caller: Annotated[Caller, Depends(access.caller("dataset_create"))]
    ) -> Document:
        try:
            query = SearchQuery.from_dict(body.query)
            query.to_filter()
        except (QueryError, TypeError) as error:
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
        if dataset["state"] == "frozen":
            report: Document = dataset["risk"]
        else:
            _, report = await evaluate(dataset)
            await datasets.datasets.update_one(
                {"_id": dataset_id, "state": "draft"}, {"$set": {"risk": report}}
            )
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
        if not await datasets.claim_for_freeze(dataset_id):
            raise await caller.refuse(409, f"dataset is {dataset['state']}", "dataset_freeze")
        try:
            records, report = await evaluate(dataset)
            if not report["passes"]:
                await datasets.release_claim(dataset_id, report)
                message = "; ".join(report["problems"])
                await caller.audit(
                    "dataset_freeze",
                    status=409,
                    outcome="refused",
                    detail=message,
                    extra={"dataset_id": dataset_id, "k": report["k"]},
                )
                raise HTTPException(409, detail={"message": message, "risk": report})
            done = await datasets.freeze(dataset_id, records, report, caller.principal.user)
        except HTTPException:
            raise
        except BaseException:
            await datasets.release_claim(dataset_id)
            raise
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
        dataset = await frozen(caller, dataset_id, "export")
        await caller.audit(
            "export",
            record_ids=await datasets.record_ids(dataset_id),
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
        dataset = await frozen(caller, dataset_id, "archive")
        entries = [entry async for entry in datasets.entries(dataset_id)]
        ids = [entry["record_id"] for entry in entries]
        if not caller.scope.unrestricted:
            # Agreements can end after freezing: the bytes follow today's agreements.
            scope_filter = (await directory.project_scope(dataset["project"])).record_filter()
            still = 0
            for start in range(0, len(ids), CHECK_BATCH):
                batch = ids[start : start + CHECK_BATCH]
                still += await searcher.count({"_id": {"$in": batch}}, scope_filter)
            if still != len(ids):
                detail = f"{len(ids) - still} record(s) are no longer shared with the project"
                raise await caller.refuse(403, detail, "archive", ids)
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
