"""The re-identification risk gate: a dataset is evaluated, and frozen only if k and l pass.

A dataset's records are always those its project is entitled to (the project's
data-use agreements, released records only), whoever asks. Freezing claims the
draft (one freeze at a time), runs the query once more, checks the risk report
(risk.py) and writes the manifest; a refused or failed freeze leaves the draft
as it was, with the refused report kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from medshare_catalog.datasets.manifest import manifest_digest, manifest_entry
from medshare_catalog.datasets.risk import assess
from medshare_catalog.query.search import Searcher, SearchQuery
from medshare_catalog.store.agreements import Directory
from medshare_catalog.store.datasets import DatasetStore
from medshare_catalog.store.record import Document

# How many record ids one "still shared?" count asks about.
CHECK_BATCH = 500


class FreezeBusy(Exception):
    """The dataset is not a draft (frozen, or another freeze holds it)."""


class RiskTooHigh(Exception):
    """k or l is below the requirement; `report` says which groups and how to fix them."""

    def __init__(self, report: Document):
        super().__init__("; ".join(report["problems"]))
        self.report = report


class RiskGate:
    def __init__(
        self,
        datasets: DatasetStore,
        searcher: Searcher,
        directory: Directory,
        min_k: int,
        min_l: int,
    ):
        self.datasets = datasets
        self.searcher = searcher
        self.directory = directory
        self.min_k = min_k
        self.min_l = min_l

    async def evaluate(self, dataset: Document) -> tuple[list[Document], Document]:
        """The records the dataset's query yields for its project now, and their risk report."""
        scope = await self.directory.project_scope(dataset["project"])
        query = SearchQuery.from_dict(dataset["query"])
        records = await self.searcher.ids(scope.record_filter(), query)
        return records, assess(records, self.min_k, self.min_l)

    async def risk(self, dataset: Document) -> Document:
        """A frozen dataset's report as frozen; a draft's as of now (and kept with it)."""
        if dataset["state"] == "frozen":
            report: Document = dataset["risk"]
            return report
        _, report = await self.evaluate(dataset)
        await self.datasets.remember_risk(dataset["_id"], report)
        return report

    async def freeze(self, dataset: Document, by: str) -> tuple[Document, list[Document]]:
        """The frozen dataset and its records; FreezeBusy or RiskTooHigh when it cannot be."""
        dataset_id = dataset["_id"]
        if not await self.datasets.claim_for_freeze(dataset_id):
            raise FreezeBusy(f"dataset is {dataset['state']}")
        try:
            records, report = await self.evaluate(dataset)
            if not report["passes"]:
                await self.datasets.release_claim(dataset_id, report)
                raise RiskTooHigh(report)
            entries = [manifest_entry(record) for record in records]
            done = await self.datasets.freeze(
                dataset_id, entries, manifest_digest(entries), report, by
            )
        except RiskTooHigh:
            raise
        except BaseException:
            await self.datasets.release_claim(dataset_id)
            raise
        return done, records

    async def still_shared(self, project: str, ids: Sequence[str]) -> int:
        """How many of these records the project's agreements share today."""
        scope_filter = (await self.directory.project_scope(project)).record_filter()
        still = 0
        for start in range(0, len(ids), CHECK_BATCH):
            batch = list(ids[start : start + CHECK_BATCH])
            still += await self.searcher.count({"_id": {"$in": batch}}, scope_filter)
        return still
