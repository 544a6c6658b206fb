"""Summary statistics of a search: counts by field and model-output distributions.

Numeric outputs (probabilities, scores) get count, min, max, mean and a 10-bin
histogram per model version; string and boolean outputs (labels, has_text) get
counts per value. Outputs are discovered from the data, so a new model's fields
show up without configuration.
"""

from __future__ import annotations

from typing import Any

from medshare_catalog.pipeline import match_stages
from medshare_catalog.search import Searcher, SearchQuery, combine

Document = dict[str, Any]
HISTOGRAM_BINS = 10


class Statistics:
    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self.collection = searcher.collection

    async def summary(self, scope_filter: Document, query: SearchQuery) -> Document:
        """Counts by modality, age band and sex, plus each model output's distribution."""
        matching = combine(scope_filter, query.to_filter())
        facets = await self.searcher.facets(scope_filter, query)
        total = await self.searcher.count(matching)
        numeric = await self._numeric_outputs(matching)
        for summary in numeric:
            summary["histogram"] = await self._histogram(matching, summary)
        return {
            "total": total,
            "by_kind": facets["kind"],
            "by_modality": facets["modality"],
            "by_age_band": facets["age_band"],
            "by_sex": facets["sex"],
            "by_release": facets["release_state"],
            "model_outputs": numeric,
            "model_labels": await self._labels(matching),
        }

    def _outputs_pipeline(self, matching: Document) -> list[Document]:
        return [
            *match_stages(matching),
            {"$unwind": "$results"},
            {"$match": {"results.error": None}},
            {
                "$project": {
                    "name": "$results.model_name",
                    "version": "$results.model_version",
                    "pairs": {"$objectToArray": "$results.outputs"},
                }
            },
            {"$unwind": "$pairs"},
        ]

    async def _numeric_outputs(self, matching: Document) -> list[Document]:
        pipeline = [
            *self._outputs_pipeline(matching),
            {"$match": {"pairs.v": {"$type": ["double", "int", "long"]}}},
            {
                "$group": {
                    "_id": {"model": "$name", "version": "$version", "output": "$pairs.k"},
                    "count": {"$sum": 1},
                    "min": {"$min": "$pairs.v"},
                    "max": {"$max": "$pairs.v"},
                    "mean": {"$avg": "$pairs.v"},
                }
            },
            {"$sort": {"_id.model": 1, "_id.version": 1, "_id.output": 1}},
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list()
        return [{**row["_id"], **{k: v for k, v in row.items() if k != "_id"}} for row in rows]

    async def _histogram(self, matching: Document, summary: Document) -> list[Document]:
        low, high = float(summary["min"]), float(summary["max"])
        if high <= low:
            return [{"from": low, "to": high, "count": summary["count"]}]
        width = (high - low) / HISTOGRAM_BINS
        edges = [low + width * i for i in range(HISTOGRAM_BINS)] + [high + width * 1e-9]
        pipeline: list[Document] = [
            *match_stages(matching),
            {"$unwind": "$results"},
            {
                "$match": {
                    "results.model_name": summary["model"],
                    "results.model_version": summary["version"],
                    "results.error": None,
                }
            },
            {
                "$bucket": {
                    "groupBy": f"$results.outputs.{summary['output']}",
                    "boundaries": edges,
                    "default": "other",
                }
            },
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list()
        counts = {row["_id"]: row["count"] for row in rows}
        return [
            {"from": edges[i], "to": min(edges[i + 1], high), "count": counts.get(edges[i], 0)}
            for i in range(HISTOGRAM_BINS)
        ]

    async def _labels(self, matching: Document) -> list[Document]:
        pipeline = [
            *self._outputs_pipeline(matching),
            {"$match": {"pairs.v": {"$type": ["string", "bool"]}}},
            {
                "$group": {
                    "_id": {
                        "model": "$name",
                        "version": "$version",
                        "output": "$pairs.k",
                        "value": "$pairs.v",
                    },
                    "count": {"$sum": 1},
                }
            },
            {"$sort": {"_id.model": 1, "_id.output": 1, "count": -1}},
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list()
        return [{**row["_id"], "count": row["count"]} for row in rows]
