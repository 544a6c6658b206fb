"""Summary statistics of a search: counts by field and model-output distributions.

Numeric outputs (probabilities, scores) get count, min, max, mean and a 10-bin
histogram per model version; string and boolean outputs (labels, has_text) get
counts per value. Outputs are discovered from the data, so a new model's fields
show up without configuration.
"""

from __future__ import annotations

from medshare_catalog.query.facets import facet_counts
from medshare_catalog.query.search import Searcher, SearchQuery, combine
from medshare_catalog.query.stages import match_stages
from medshare_catalog.store.record import Document

HISTOGRAM_BINS = 10


class Statistics:
    def __init__(self, searcher: Searcher):
        self.searcher = searcher

    async def summary(self, scope_filter: Document, query: SearchQuery) -> Document:
        """Counts by modality, age band and sex, plus each model output's distribution.

        Three reads of the matching records (each read fetches every match on
        SecantusDB): the facet projection (its length is the total), the numeric
        and label groups as two branches of one `$facet`, and every histogram as a
        branch of another.
        """
        matching = combine(scope_filter, query.to_filter())
        documents = await self.searcher.facet_documents(scope_filter, query)
        facets = facet_counts(documents)
        numeric, labels = await self._outputs(matching)
        histograms = await self._histograms(matching, numeric)
        for summary, histogram in zip(numeric, histograms, strict=True):
            summary["histogram"] = histogram
        return {
            "total": len(documents),
            "by_kind": facets["kind"],
            "by_modality": facets["modality"],
            "by_age_band": facets["age_band"],
            "by_sex": facets["sex"],
            "by_release": facets["release_state"],
            "model_outputs": numeric,
            "model_labels": labels,
        }

    async def _outputs(self, matching: Document) -> tuple[list[Document], list[Document]]:
        branches = {"numeric": self._numeric_stages(), "labels": self._label_stages()}
        pipeline = [*self._outputs_pipeline(matching), {"$facet": branches}]
        rows = await self.searcher.run(pipeline)
        result = rows[0] if rows else {"numeric": [], "labels": []}
        numeric = [
            {**row["_id"], **{k: v for k, v in row.items() if k != "_id"}}
            for row in result["numeric"]
        ]
        labels = [{**row["_id"], "count": row["count"]} for row in result["labels"]]
        return numeric, labels

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

    @staticmethod
    def _numeric_stages() -> list[Document]:
        return [
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

    async def _histograms(
        self, matching: Document, numeric: list[Document]
    ) -> list[list[Document]]:
        """Every numeric output's 10-bin histogram, each a branch of one `$facet`."""
        if not numeric:
            return []
        plans = [self._histogram_plan(summary) for summary in numeric]
        branches = {f"h{i}": stages for i, (_, stages) in enumerate(plans) if stages}
        rows: list[Document] = []
        if branches:
            pipeline = [*match_stages(matching), {"$unwind": "$results"}, {"$facet": branches}]
            rows = await self.searcher.run(pipeline)
        result = rows[0] if rows else {}
        histograms = []
        for i, (shape, stages) in enumerate(plans):
            if not stages:
                histograms.append(shape)  # every value the same: one bin
                continue
            counts = {row["_id"]: row["count"] for row in result.get(f"h{i}", [])}
            histograms.append([{**edge, "count": counts.get(edge["key"], 0)} for edge in shape])
        return [[{k: v for k, v in bin.items() if k != "key"} for bin in h] for h in histograms]

    @staticmethod
    def _histogram_plan(summary: Document) -> tuple[list[Document], list[Document]]:
        """The bins (with the bucket key each is counted under) and the stages that count them."""
        low, high = float(summary["min"]), float(summary["max"])
        if high <= low:
            return [{"from": low, "to": high, "count": summary["count"]}], []
        width = (high - low) / HISTOGRAM_BINS
        edges = [low + width * i for i in range(HISTOGRAM_BINS)] + [high + width * 1e-9]
        stages: list[Document] = [
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
        bins = [
            {"from": edges[i], "to": min(edges[i + 1], high), "key": edges[i]}
            for i in range(HISTOGRAM_BINS)
        ]
        return bins, stages

    @staticmethod
    def _label_stages() -> list[Document]:
        return [
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
