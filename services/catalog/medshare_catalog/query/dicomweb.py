"""QIDO-RS searches and WADO-RS lookups over the records' DICOM headers (`dicom.*`).

Studies and series are groups of instance records; each level is one aggregation,
its filter split into ordered `$match` stages (stages.py).
"""

from __future__ import annotations

from medshare_catalog.query.qido import QidoQuery, element, tag_of
from medshare_catalog.query.search import combine
from medshare_catalog.query.stages import match_stages
from medshare_catalog.store.dicom_header import INSTANCE_KEYWORDS, SERIES_KEYWORDS, STUDY_KEYWORDS
from medshare_catalog.store.record import Document
from medshare_catalog.store.records import RecordStore

INSTANCE_ORDER = [
    ("dicom.study_uid", 1),
    ("dicom.series_uid", 1),
    ("dicom.instance_number", 1),
    ("_id", 1),
]


def pick(attributes: Document, keywords: tuple[str, ...]) -> Document:
    tags = {tag_of(keyword) for keyword in keywords}
    return {tag: value for tag, value in attributes.items() if tag in tags}


class DicomWeb:
    """Studies, series and instances as QIDO-RS lists them, and the documents WADO-RS reads."""

    def __init__(self, records: RecordStore):
        self.records = records

    async def _group_ids(self, matching: Document, key: str, query: QidoQuery) -> list[str]:
        pipeline: list[Document] = [
            *match_stages(matching),
            {"$group": {"_id": f"${key}"}},
            {"$sort": {"_id": 1}},
            {"$skip": query.offset},
            {"$limit": query.limit},
        ]
        rows = await self.records.aggregate(pipeline)
        return [row["_id"] for row in rows]

    async def _summaries(self, base: Document, key: str, values: list[str]) -> dict[str, Document]:
        pipeline = [
            *match_stages({key: {"$in": values}}, base),
            {"$sort": dict(INSTANCE_ORDER)},
            {
                "$group": {
                    "_id": f"${key}",
                    "attributes": {"$first": "$dicom.attributes"},
                    "modalities": {"$addToSet": "$dicom.modality"},
                    "series": {"$addToSet": "$dicom.series_uid"},
                    "instances": {"$sum": 1},
                    "ids": {"$push": "$_id"},
                }
            },
        ]
        rows = await self.records.aggregate(pipeline)
        return {row["_id"]: row for row in rows}

    async def studies(
        self, base: Document, query: QidoQuery, root: str
    ) -> tuple[list[Document], list[str]]:
        uids = await self._group_ids(combine(base, query.filter()), "dicom.study_uid", query)
        summaries = await self._summaries(base, "dicom.study_uid", uids)
        items, ids = [], []
        for uid in uids:
            row = summaries[uid]
            item = pick(row["attributes"], STUDY_KEYWORDS)
            item[tag_of("ModalitiesInStudy")] = element(
                "ModalitiesInStudy", sorted(m for m in row["modalities"] if m)
            )
            item[tag_of("NumberOfStudyRelatedSeries")] = element(
                "NumberOfStudyRelatedSeries", [len(row["series"])]
            )
            item[tag_of("NumberOfStudyRelatedInstances")] = element(
                "NumberOfStudyRelatedInstances", [row["instances"]]
            )
            item[tag_of("RetrieveURL")] = element("RetrieveURL", [f"{root}/studies/{uid}"])
            items.append(item)
            ids.extend(row["ids"])
        return items, ids

    async def series(
        self, base: Document, query: QidoQuery, root: str
    ) -> tuple[list[Document], list[str]]:
        uids = await self._group_ids(combine(base, query.filter()), "dicom.series_uid", query)
        summaries = await self._summaries(base, "dicom.series_uid", uids)
        items, ids = [], []
        for uid in uids:
            row = summaries[uid]
            item = pick(row["attributes"], (*SERIES_KEYWORDS, "StudyInstanceUID"))
            study = row["attributes"].get(tag_of("StudyInstanceUID"), {}).get("Value", [""])[0]
            item[tag_of("NumberOfSeriesRelatedInstances")] = element(
                "NumberOfSeriesRelatedInstances", [row["instances"]]
            )
            item[tag_of("RetrieveURL")] = element(
                "RetrieveURL", [f"{root}/studies/{study}/series/{uid}"]
            )
            items.append(item)
            ids.extend(row["ids"])
        return items, ids

    async def instances(
        self, base: Document, query: QidoQuery, root: str
    ) -> tuple[list[Document], list[str]]:
        pipeline = [
            *match_stages(base, query.filter()),
            {"$project": {"dicom": 1}},
            {"$sort": dict(INSTANCE_ORDER)},
            {"$skip": query.offset},
            {"$limit": query.limit},
        ]
        items, ids = [], []
        for doc in await self.records.aggregate(pipeline):
            dicom = doc["dicom"]
            item = pick(
                dicom["attributes"], (*INSTANCE_KEYWORDS, "StudyInstanceUID", "SeriesInstanceUID")
            )
            url = (
                f"{root}/studies/{dicom['study_uid']}/series/{dicom['series_uid']}"
                f"/instances/{dicom['sop_uid']}"
            )
            item[tag_of("RetrieveURL")] = element("RetrieveURL", [url])
            items.append(item)
            ids.append(doc["_id"])
        return items, ids

    async def documents(self, base: Document, path: Document) -> list[Document]:
        pipeline = [
            *match_stages(path, base),
            {"$project": {"object": 1, "dicom": 1, "kind": 1}},
            {"$sort": dict(INSTANCE_ORDER)},
        ]
        return await self.records.aggregate(pipeline)
