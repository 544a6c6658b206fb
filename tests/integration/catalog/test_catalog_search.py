"""Every filter and facet against records folded into the real server, and keyset pages
that stay stable while records keep arriving.

Expectations are computed in Python from the synthetic events themselves (their raw
metadata and model results), not from the catalog's derived fields.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from medshare_catalog.query.cursors import encode_cursor, read_cursor
from medshare_catalog.query.facets import facet_counts, facets_from_counts
from medshare_catalog.query.planner import WINDOWED_FROM
from medshare_catalog.query.search import CARD_PROJECTION, Searcher, SearchQuery, combine
from medshare_catalog.query.stages import conditions
from medshare_catalog.store.facets import bucket_id, facet_op
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.synthetic import synthetic_document, synthetic_event
from medshare_shared.events import ModelResult, RecordDeidentified, RecordInferred
from tests.integration.catalog.support import Catalog, catalog_env, running_catalog

RECORDS = 400
# The synthetic generator's ZIP3 base for hospital-01 and its neighbour.
_BASE = int(hashlib.sha256(b"hospital-01").hexdigest()[:4], 16) % 900 + 100
ZIPS = (f"{_BASE:03d}", f"{_BASE + 1:03d}")
Event = tuple[RecordDeidentified, list[ModelResult]]


@dataclass
class Corpus:
    catalog: Catalog
    store: RecordStore
    events: dict[str, Event]

    def admin(self) -> dict[str, str]:
        return self.catalog.auth("ada", "admin")


async def fold(store: RecordStore, bucket: str, index: int, rng: random.Random,
               shift: timedelta = timedelta(0)) -> Event:  # fmt: skip
    record, results = synthetic_event(index, rng)
    record = record.model_copy(
        update={"shared_bucket": bucket, "ingested_at": record.ingested_at + shift}
    )
    at = record.ingested_at + timedelta(seconds=2)
    await store.fold_deidentified(record, uuid.uuid4().hex, at)
    for offset, result in enumerate(results, start=1):
        inferred = RecordInferred(record_id=record.record_id, patient_pseudonym="p", result=result)
        await store.fold_inferred(inferred, uuid.uuid4().hex, at + timedelta(seconds=offset))
    return record, results


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def corpus(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Corpus]:
    env = catalog_env(stack_env, Path(tmp_path_factory.mktemp("keys")))
    async with running_catalog(env) as catalog:
        # No object reads at fold time: synthetic images have no pixels in the shared zone.
        store = RecordStore(catalog.records.collection, gates=catalog.settings.release_gates,
                            shared_bucket=catalog.bucket)  # fmt: skip
        rng = random.Random(20240601)
        events: dict[str, Event] = {}
        documents = []
        for index in range(RECORDS):
            record, results = synthetic_event(index, rng)
            record = record.model_copy(update={"shared_bucket": catalog.bucket})
            events[record.record_id] = (record, results)
            documents.append(synthetic_document(record, results, catalog.settings.release_gates))
        # Bulk-loaded as the benchmark does; records arriving later are folded one by one.
        await store.collection.insert_many(documents)
        await store.rebuild_facets()  # as the benchmark does after its bulk load
        yield Corpus(catalog, store, events)


def year(meta: dict[str, Any]) -> int | None:
    value = meta.get("study_year") or meta.get("encounter_year")
    return int(value) if value is not None else None


def has_result(results: list[ModelResult], test: Callable[[ModelResult], bool]) -> bool:
    return any(test(result) for result in results)


def flagged(results: list[ModelResult]) -> bool:
    return has_result(results, lambda r: r.model_name == "burned-in-text" and r.outputs["has_text"])


FILTERS: list[tuple[dict[str, Any], Callable[[RecordDeidentified, list[ModelResult]], bool]]] = [
    ({"kind": "case_report"}, lambda r, _: r.kind == "case_report"),
    ({"modality": ["ct", "MR"]}, lambda r, _: r.metadata.get("modality") in {"CT", "MR"}),
    ({"body_part": "chest"}, lambda r, _: r.metadata.get("body_part") == "CHEST"),
    ({"study_year": [2010, 2020]}, lambda r, _: year(r.metadata) in {2010, 2020}),
    ({"year_from": 2015, "year_to": 2018}, lambda r, _: 2015 <= (year(r.metadata) or 0) <= 2018),
    ({"age_band": ["90+", "80-89"]}, lambda r, _: r.metadata.get("age_band") in {"90+", "80-89"}),
    ({"sex": "f"}, lambda r, _: r.metadata.get("sex") == "F"),
    ({"institution": "hospital-03"}, lambda r, _: r.institution == "hospital-03"),
    ({"zip3": list(ZIPS)}, lambda r, _: r.metadata.get("zip3") in ZIPS),
    ({"diagnosis": "C50.9"}, lambda r, _: "C50.9" in r.metadata.get("diagnosis_codes", [])),
    ({"diagnosis": "E11*"},
     lambda r, _: any(c.startswith("E11") for c in r.metadata.get("diagnosis_codes", []))),
    ({"model": "diabetes-progression"},
     lambda _, res: has_result(res, lambda m: m.model_name == "diabetes-progression")),
    ({"model": "breast-cancer-malignancy", "output": "malignancy_probability", "output_min": 0.8},
     lambda _, res: has_result(res, lambda m: m.outputs.get("malignancy_probability", 0) >= 0.8)),
    ({"output": "progression_score", "output_min": 100, "output_max": 200},
     lambda _, res: has_result(res, lambda m: 100 <= m.outputs.get("progression_score", 0) <= 200)),
    ({"model": "breast-cancer-malignancy", "model_version": "1.1.0"},
     lambda _, res: has_result(res, lambda m: m.model_version == "1.1.0")),
    ({"output": "label", "output_value": "malignant"},
     lambda _, res: has_result(res, lambda m: m.outputs.get("label") == "malignant")),
    ({"model": "burned-in-text", "output": "has_text", "output_value": "true"},
     lambda _, res: flagged(res)),
    ({"release": "withheld"}, lambda _, res: flagged(res)),
    ({"release": "released", "kind": "dicom"},
     lambda r, res: r.kind == "dicom" and not flagged(res)),
    ({"q": "mammogram"},
     lambda r, _: "mammogram" in r.metadata.get("study_description", "").lower()),
    ({"q": "Type 2 diabetes"},
     lambda r, _: "Type 2 diabetes" in r.metadata.get("description", "")),
    ({"q": "mammo*"},
     lambda r, _: "mammogram" in r.metadata.get("study_description", "").lower()),
    ({"q": "siemens"}, lambda r, _: r.metadata.get("manufacturer") == "SIEMENS"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(f[0]) for f in FILTERS])
async def test_every_filter(
    corpus: Corpus,
    params: dict[str, Any],
    expected: Callable[[RecordDeidentified, list[ModelResult]], bool],
) -> None:
    want = {rid for rid, (record, results) in corpus.events.items() if expected(record, results)}
    assert want, "the corpus must hold matching records for the filter to mean something"
    assert len(want) < RECORDS
    page = await corpus.catalog.http.get(
        "/records", params={**params, "limit": 500}, headers=corpus.admin()
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert {item["record_id"] for item in body["items"]} == want
    assert body["total"] == len(want)


async def test_facets_count_every_value_under_the_filters(corpus: Corpus) -> None:
    answer = await corpus.catalog.http.get(
        "/records/facets", params={"kind": "dicom"}, headers=corpus.admin()
    )
    facets = answer.json()
    images = [(r, res) for r, res in corpus.events.values() if r.kind == "dicom"]
    expected = {
        "kind": Counter(r.kind for r, _ in images),
        "modality": Counter(r.metadata["modality"] for r, _ in images),
        "body_part": Counter(r.metadata["body_part"] for r, _ in images),
        "study_year": Counter(r.metadata["study_year"] for r, _ in images),
        "age_band": Counter(r.metadata["age_band"] for r, _ in images),
        "sex": Counter(r.metadata["sex"] for r, _ in images),
        "institution": Counter(r.institution for r, _ in images),
        "release_state": Counter("withheld" if flagged(res) else "released" for _, res in images),
        "model": Counter(m.model_name for _, res in images for m in res),
    }
    for name, counts in expected.items():
        assert {e["value"]: e["count"] for e in facets[name]} == dict(counts), name
    assert facets["zip3"] == [] and facets["diagnosis_codes"] == []  # images carry neither
    reports = await corpus.catalog.http.get(
        "/records/facets", params={"kind": "case_report"}, headers=corpus.admin()
    )
    codes = Counter(
        code
        for r, _ in corpus.events.values()
        if r.kind == "case_report"
        for code in r.metadata["diagnosis_codes"]
    )
    assert {e["value"]: e["count"] for e in reports.json()["diagnosis_codes"]} == dict(codes)


async def test_summary_statistics_and_output_distributions(corpus: Corpus) -> None:
    stats = (await corpus.catalog.http.get("/records/stats", headers=corpus.admin())).json()
    assert stats["total"] == RECORDS
    probabilities = [m.outputs["malignancy_probability"] for _, res in corpus.events.values()
                     for m in res if m.model_name == "breast-cancer-malignancy"]  # fmt: skip
    summaries = [s for s in stats["model_outputs"] if s["output"] == "malignancy_probability"]
    assert sum(s["count"] for s in summaries) == len(probabilities)
    assert min(s["min"] for s in summaries) == min(probabilities)
    assert max(s["max"] for s in summaries) == max(probabilities)
    for summary in summaries:
        assert sum(b["count"] for b in summary["histogram"]) == summary["count"]
    labels = {(e["output"], e["value"]): e["count"] for e in stats["model_labels"]
              if e["model"] == "burned-in-text"}  # fmt: skip
    flagged_count = sum(1 for _, res in corpus.events.values() if flagged(res))
    assert labels[("has_text", True)] == flagged_count
    assert sum(e["count"] for e in stats["by_modality"]) == sum(
        1 for r, _ in corpus.events.values() if r.kind == "dicom"
    )


async def test_bad_parameters_are_refused_by_name(corpus: Corpus) -> None:
    http = corpus.catalog.http
    answer = await http.get("/records", params={"output_min": 1}, headers=corpus.admin())
    assert answer.status_code == 422 and "output" in answer.json()["detail"]
    answer = await http.get("/records", params={"cursor": "bogus"}, headers=corpus.admin())
    assert answer.status_code == 422 and answer.json()["detail"] == "cursor malformed"


@pytest.mark.parametrize("sort", ["recent", "id"])
async def test_pages_stay_stable_while_records_arrive(corpus: Corpus, sort: str) -> None:
    http, admin = corpus.catalog.http, corpus.admin()
    present = {
        doc["_id"] async for doc in corpus.store.collection.find({"cataloged": True}, {"_id": 1})
    }
    rng = random.Random(sort)
    seen: list[str] = []
    arrived = 0
    arrivals, per_page = 60, 5

    async def page_through() -> int:
        """Pages of 37; between two pages, waits until 5 more records have arrived."""
        cursor, pages = None, 0
        while True:
            params: dict[str, Any] = {"limit": 37, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            body = (await http.get("/records", params=params, headers=admin)).json()
            seen.extend(item["record_id"] for item in body["items"])
            pages += 1
            cursor = body["next"]
            if not cursor:
                return pages
            while arrived < min(arrivals, pages * per_page):
                await asyncio.sleep(0.01)

    async def keep_arriving() -> None:
        nonlocal arrived
        for index in range(arrivals):
            # Newer and older than what is being paged: both must not disturb it.
            shift = timedelta(days=400) if index % 2 else timedelta(days=-400)
            record, results = await fold(
                corpus.store, corpus.catalog.bucket, 10_000 + index, rng, shift
            )
            corpus.events[record.record_id] = (record, results)
            arrived += 1

    pages, _ = await asyncio.gather(page_through(), keep_arriving())
    assert pages >= 10, "records arrived between at least ten pages"
    assert len(seen) == len(set(seen)), "a record appeared on two pages"
    assert present <= set(seen), "a record present from the start was skipped"


PLAN_QUERIES = [
    SearchQuery(),
    SearchQuery(kind=["dicom"]),
    SearchQuery(modality=["CT", "MR"], year_from=2012),
    SearchQuery(institution=["hospital-01", "hospital-02"], sex=["F"]),
    SearchQuery(q="chest"),
    SearchQuery(modality=["NM"]),
]
SCOPES: list[dict[str, Any]] = [
    {"cataloged": True},
    {"cataloged": True, "release.state": "released",
     "$or": [{"institution": {"$in": ["hospital-01", "hospital-03"]}},
             {"institution": {"$in": ["hospital-02"]}, "kind": {"$in": ["case_report"]}}]},
    {"cataloged": True, "release.state": "released", "institution": {"$in": ["hospital-02"]}},
]  # fmt: skip


@pytest.mark.parametrize("query", PLAN_QUERIES, ids=[str(q.as_dict()) for q in PLAN_QUERIES])
async def test_windowed_pages_equal_the_server_sorted_pages(
    corpus: Corpus, query: SearchQuery
) -> None:
    """Page by page, the time-window reader returns what sorting every match returns."""
    searcher = Searcher(corpus.store.collection)

    async def walk(windowed: bool, limit: int) -> list[str]:
        seen: list[str] = []
        after, top = None, None
        while True:
            if windowed:
                items = await searcher.recent.page(filters, after, top, limit)
            else:
                _, items = await searcher._one_pass(filters, after, "recent", limit, False)
            seen += [item["_id"] for item in items]
            if len(items) < limit:
                return seen
            after, top = read_cursor("recent", encode_cursor("recent", items[-1]))

    for scope in SCOPES:
        filters = conditions(scope, query.to_filter())
        expected = await walk(windowed=False, limit=23)
        assert len(expected) == len(set(expected))
        assert len(expected) == await searcher.count(*filters)
        for limit in (23, 1, 500):  # a fresh pager, then one that has learned widths
            assert await walk(windowed=True, limit=limit) == expected, (scope, limit)


FACET_QUERIES = [SearchQuery(), SearchQuery(modality=["CT"]), SearchQuery(kind=["case_report"])]


@pytest.mark.parametrize("query", FACET_QUERIES, ids=[str(q.as_dict()) for q in FACET_QUERIES])
async def test_facet_read_model_equals_counting_the_records(
    corpus: Corpus, query: SearchQuery
) -> None:
    """Bulk-loaded, then folded one by one (the buckets kept at fold time), then re-folded."""
    rng = random.Random(99)
    for index in range(RECORDS + 500, RECORDS + 520):
        await fold(corpus.store, corpus.catalog.bucket, index, rng, shift=timedelta(days=400))
    searcher = Searcher(corpus.store.collection, facet_model=corpus.store.facets)
    for scope in [*SCOPES, {"cataloged": True}, {"_id": {"$in": []}}]:
        read = await corpus.store.facets.counts(combine(scope, query.to_filter()))
        assert read is not None, "bucket filters are answered from the read model"
        counted = facet_counts(await searcher.facet_documents(scope, query))
        assert facets_from_counts(read) == counted
        assert await searcher.facets(scope, query) == counted
    buckets = await corpus.store.facets.collection.find({}).to_list()
    assert [b for b in buckets if b.get("ops")] == [], "every applied op was forgotten"


async def test_totals_are_exact_up_to_the_bound_then_a_lower_bound(corpus: Corpus) -> None:
    scope = {"cataloged": True}
    every = await Searcher(corpus.store.collection).count(scope)
    bounded = Searcher(corpus.store.collection, exact_total_up_to=every - 7)
    bounded.sizes.observe(conditions(scope), WINDOWED_FROM + 1)  # large: the windowed plan
    page = await bounded.page(scope, SearchQuery(), limit=10)
    assert (page.total, page.total_is_lower_bound) == (every - 7, True)
    exact = await bounded.page(scope, SearchQuery(), limit=10, exact_total=True)
    assert (exact.total, exact.total_is_lower_bound) == (every, False)
    assert [d["_id"] for d in page.items] == [d["_id"] for d in exact.items]
    bounded.sizes.observe(conditions(scope), WINDOWED_FROM + 1)  # the exact count taught it
    following = await bounded.page(scope, SearchQuery(), limit=10, cursor=page.next_cursor)
    assert (following.total, following.total_is_lower_bound) == (every - 7, True)
    roomy = Searcher(corpus.store.collection, exact_total_up_to=every + 1)
    roomy.sizes.observe(conditions(scope), WINDOWED_FROM + 1)
    assert (await roomy.page(scope, SearchQuery(), limit=10)).total == every
    http = corpus.catalog.http
    answer = (await http.get("/records", params={"limit": 5}, headers=corpus.admin())).json()
    assert answer["total_is_lower_bound"] is False  # the default bound: 1000 > this corpus
    shown = {name.split(".")[0] for name in CARD_PROJECTION} - {"_id"}
    assert set(answer["items"][0]) <= {*shown, "record_id"}


@pytest.mark.parametrize(
    "query", PLAN_QUERIES[:3], ids=[str(q.as_dict()) for q in PLAN_QUERIES[:3]]
)
async def test_windowed_counts_equal_the_count_up_to_the_bound(
    corpus: Corpus, query: SearchQuery
) -> None:
    searcher = Searcher(corpus.store.collection)
    for scope in SCOPES:
        filters = conditions(scope, query.to_filter())
        exact = await searcher.count(*filters)
        for bound in (0, 5, exact - 1, exact, exact + 3):
            if bound >= 0:
                counted = await searcher.recent.count_upto(filters, bound)
                assert counted == min(exact, bound + 1), (bound, exact)


async def test_a_facet_op_applied_twice_counts_once(corpus: Corpus) -> None:
    """A redelivery or a racing replica finishing the same pending op changes nothing more."""
    model = corpus.store.facets
    document = await corpus.store.collection.find_one(
        {"cataloged": True, "facet_cell": {"$ne": None}}
    )
    assert document is not None
    cell = document["facet_cell"]
    bucket = bucket_id(cell["at"])
    before = await model.collection.find_one({"_id": bucket})
    op = facet_op(None, cell)
    assert op is not None
    await model.apply(op)
    await model.apply(op)  # again: guarded by the op id
    after = await model.collection.find_one({"_id": bucket})
    assert before is not None and after is not None
    assert after["records"] == before["records"] + 1 and after["ops"] == [op["id"]]
    undo = facet_op(cell, None)
    assert undo is not None
    await model.apply(undo)
    await model.forget(op)
    await model.forget(undo)
    restored = await model.collection.find_one({"_id": bucket})
    assert restored is not None and restored["records"] == before["records"]
    assert restored["ops"] == [] and restored["counts"] == before["counts"]
