"""DICOMweb over the released de-identified images: QIDO-RS search and WADO-RS retrieve.

Only records the caller may see, of kind dicom, released, are visible here: a
withheld image (burned-in text flagged, quarantined, rejected) does not exist for
DICOMweb, whatever the caller's role. Instance bytes come from the shared zone.
"""

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import pydicom
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from medshare_catalog.api.access import Access, Caller
from medshare_catalog.query.dicomweb import DicomWeb
from medshare_catalog.query.qido import Level, QidoError, QidoQuery, parse
from medshare_catalog.query.search import combine
from medshare_catalog.store.record import Document
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.shared_zone import SharedZone

DICOM_JSON = "application/dicom+json"


def visible_images(caller: Caller) -> Document:
    released = {
        "kind": "dicom",
        "release.state": "released",
        "dicom.study_uid": {"$type": "string"},
    }
    return combine(caller.scope.record_filter(), released)


def dicom_json(items: list[Document], query: QidoQuery) -> JSONResponse:
    headers = {}
    if query.ignored:
        shown = ", ".join(sorted(set(query.ignored)))
        headers["Warning"] = f'299 medshare "query keys not supported, ignored: {shown}"'
    return JSONResponse(items, media_type=DICOM_JSON, headers=headers)


def full_metadata(data: bytes) -> Document:
    dataset = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    return dataset.to_json_dict(bulk_data_threshold=1 << 20, bulk_data_element_handler=None)


def service_base(request: Request) -> str:
    """The URL clients reach this service at, for RetrieveURL.

    From the Host header; when it names no port (HTTP/1.0 clients, some proxies) the
    port the request arrived on is added unless it is the scheme's default, so the
    URL still points here rather than at port 80.
    """
    base = request.base_url
    server = request.scope.get("server")
    if base.port is None and server and server[1] not in (None, 80, 443):
        base = base.replace(port=int(server[1]))
    return str(base).rstrip("/")


def dicomweb_router(records: RecordStore, zone: SharedZone, access: Access) -> APIRouter:
    router = APIRouter(prefix="/dicomweb", tags=["DICOMweb"])
    web = DicomWeb(records)

    def root(request: Request) -> str:
        return service_base(request) + "/dicomweb"

    async def qido(caller: Caller, request: Request, level: Level, path: Document) -> JSONResponse:
        try:
            query = parse(list(request.query_params.multi_items()), level)
        except QidoError as error:
            raise await caller.refuse(400, str(error), "qido") from None
        base = combine(visible_images(caller), path)
        search = {"study": web.studies, "series": web.series, "instance": web.instances}[level]
        items, ids = await search(base, query, root(request))
        await caller.audit("qido", record_ids=ids, extra={"level": level})
        return dicom_json(items, query)

    Qido = Annotated[Caller, Depends(access.caller("qido"))]

    @router.get("/studies", summary="QIDO-RS: search studies")
    async def search_studies(request: Request, caller: Qido) -> JSONResponse:
        return await qido(caller, request, "study", {})

    @router.get("/series", summary="QIDO-RS: search all series")
    async def search_all_series(request: Request, caller: Qido) -> JSONResponse:
        return await qido(caller, request, "series", {})

    @router.get("/instances", summary="QIDO-RS: search all instances")
    async def search_all_instances(request: Request, caller: Qido) -> JSONResponse:
        return await qido(caller, request, "instance", {})

    @router.get("/studies/{study}/series", summary="QIDO-RS: search a study's series")
    async def search_series(study: str, request: Request, caller: Qido) -> JSONResponse:
        return await qido(caller, request, "series", {"dicom.study_uid": study})

    @router.get("/studies/{study}/instances", summary="QIDO-RS: search a study's instances")
    async def search_study_instances(study: str, request: Request, caller: Qido) -> JSONResponse:
        return await qido(caller, request, "instance", {"dicom.study_uid": study})

    @router.get(
        "/studies/{study}/series/{series}/instances", summary="QIDO-RS: search a series' instances"
    )
    async def search_instances(
        study: str, series: str, request: Request, caller: Qido
    ) -> JSONResponse:
        path = {"dicom.study_uid": study, "dicom.series_uid": series}
        return await qido(caller, request, "instance", path)

    async def matching(caller: Caller, action: str, path: Document) -> list[Document]:
        documents = await web.documents(visible_images(caller), path)
        if not documents:
            await caller.audit(action, status=404, outcome="not_found", query=path)
            raise HTTPException(404, detail="no released instance matches")
        return documents

    async def retrieve(caller: Caller, request: Request, path: Document) -> StreamingResponse:
        accept = request.headers.get("accept", "*/*")
        if not any(kind in accept for kind in ("multipart/related", "application/dicom", "*/*")):
            raise await caller.refuse(406, "WADO-RS instances come as multipart/related", "wado")
        documents = await matching(caller, "wado", path)
        await caller.audit("wado", record_ids=[d["_id"] for d in documents], query=path)
        boundary = uuid.uuid4().hex

        async def parts() -> AsyncIterator[bytes]:
            for document in documents:
                data = await zone.read(document)
                syntax = document["dicom"].get("transfer_syntax")
                kind = "application/dicom" + (f"; transfer-syntax={syntax}" if syntax else "")
                yield f"--{boundary}\r\nContent-Type: {kind}\r\n\r\n".encode() + data + b"\r\n"
            yield f"--{boundary}--\r\n".encode()

        media = f'multipart/related; type="application/dicom"; boundary={boundary}'
        return StreamingResponse(parts(), media_type=media)

    async def metadata(caller: Caller, path: Document) -> JSONResponse:
        documents = await matching(caller, "wado_metadata", path)
        blobs = await asyncio.gather(*(zone.read(d) for d in documents))
        items = [await asyncio.to_thread(full_metadata, blob) for blob in blobs]
        await caller.audit("wado_metadata", record_ids=[d["_id"] for d in documents], query=path)
        return JSONResponse(items, media_type=DICOM_JSON)

    Wado = Annotated[Caller, Depends(access.caller("wado"))]
    Meta = Annotated[Caller, Depends(access.caller("wado_metadata"))]

    @router.get("/studies/{study}", summary="WADO-RS: a study's instances (multipart)")
    async def retrieve_study(study: str, request: Request, caller: Wado) -> StreamingResponse:
        return await retrieve(caller, request, {"dicom.study_uid": study})

    @router.get("/studies/{study}/series/{series}", summary="WADO-RS: a series' instances")
    async def retrieve_series(
        study: str, series: str, request: Request, caller: Wado
    ) -> StreamingResponse:
        return await retrieve(
            caller, request, {"dicom.study_uid": study, "dicom.series_uid": series}
        )

    @router.get(
        "/studies/{study}/series/{series}/instances/{instance}", summary="WADO-RS: one instance"
    )
    async def retrieve_instance(
        study: str, series: str, instance: str, request: Request, caller: Wado
    ) -> StreamingResponse:
        path = {"dicom.study_uid": study, "dicom.series_uid": series, "dicom.sop_uid": instance}
        return await retrieve(caller, request, path)

    @router.get("/studies/{study}/metadata", summary="WADO-RS: a study's metadata")
    async def study_metadata(study: str, caller: Meta) -> JSONResponse:
        return await metadata(caller, {"dicom.study_uid": study})

    @router.get("/studies/{study}/series/{series}/metadata", summary="WADO-RS: a series' metadata")
    async def series_metadata(study: str, series: str, caller: Meta) -> JSONResponse:
        return await metadata(caller, {"dicom.study_uid": study, "dicom.series_uid": series})

    @router.get(
        "/studies/{study}/series/{series}/instances/{instance}/metadata",
        summary="WADO-RS: one instance's metadata",
    )
    async def instance_metadata(
        study: str, series: str, instance: str, caller: Meta
    ) -> JSONResponse:
        path = {"dicom.study_uid": study, "dicom.series_uid": series, "dicom.sop_uid": instance}
        return await metadata(caller, path)

    return router
