"""`medshare bench catalog`: search latency over N synthetic records at 1, 16 and 64 clients.

Loads N synthetic-but-realistic catalog documents (medshare_catalog.store.synthetic, the
documents the folds would produce) into a fresh database with the catalog's
indexes, in `insert_many` batches, then runs a mix of typical researcher queries
through the catalog's own search code (the one the HTTP API calls: filters, the
data-use-agreement scope, keyset page, total count) from 1, 16 and 64 concurrent
clients for a fixed time each, and reports p50/p95/p99 per query and concurrency.
The database server is the one MEDSHARE_MONGO_URL names (locally SecantusDB).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medshare_bench.catalog_http import catalog_service, http_mix
from medshare_bench.plot import bar_plot
from medshare_bench.results import latency_summary, write_results
from medshare_catalog.query.cursors import encode_cursor, sort_spec
from medshare_catalog.query.search import Searcher, SearchQuery
from medshare_catalog.query.stages import match_stages
from medshare_catalog.store.agreements import Grant, Scope
from medshare_catalog.store.records import RecordStore
from medshare_catalog.store.synthetic import INSTITUTIONS, synthetic_document, synthetic_event
from medshare_catalog.tokens import Principal

console = Console()
Document = dict[str, Any]
Query = Callable[[], Awaitable[Any]]
GATES = ("burned-in-text",)
# Short labels for the plot's x axis.
PLOT_LABELS = {
    "first page": "first page",
    "first page, exact total": "exact total",
    "modality+years": "CT 2015-20",
    "demographics": "F 60-69 h01",
    "diagnosis C50*": "C50*",
    "p(malignant)>=0.8": "p>=0.8",
    "free text": "text",
    "facets (CT)": "facets",
    "page 20 (keyset)": "page 20",
}


def researcher_scope() -> Scope:
    """A researcher whose project holds agreements with four institutions (about 60% of data)."""
    principal = Principal("bench-researcher", "researcher", ("bench",))
    grants = tuple(Grant(name, "bench") for name in INSTITUTIONS[:4])
    return Scope(principal, ("bench",), grants)


def query_mix(searcher: Searcher, scope: Scope, deep_cursor: str | None) -> dict[str, Query]:
    visible = scope.record_filter()

    def page(query: SearchQuery, **options: Any) -> Query:
        return lambda: searcher.page(visible, query, limit=50, **options)

    mix: dict[str, Query] = {
        "first page": page(SearchQuery()),
        "first page, exact total": page(SearchQuery(), exact_total=True),
        "modality+years": page(SearchQuery(modality=["CT"], year_from=2015, year_to=2020)),
        "demographics": page(
            SearchQuery(age_band=["60-69"], sex=["F"], institution=["hospital-01"])
        ),
        "diagnosis C50*": page(SearchQuery(diagnosis=["C50*"])),
        "p(malignant)>=0.8": page(
            SearchQuery(
                model="breast-cancer-malignancy", output="malignancy_probability", output_min=0.8
            )
        ),
        "free text": page(SearchQuery(q="chest")),
        "facets (CT)": lambda: searcher.facets(visible, SearchQuery(modality=["CT"])),
    }
    if deep_cursor:
        mix["page 20 (keyset)"] = page(SearchQuery(), cursor=deep_cursor, with_total=False)
    return mix


async def load(store: RecordStore, records: int, batch: int, seed: int) -> float:
    rng = random.Random(seed)
    columns = (
        TextColumn("[bold]loading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("load", total=records, rate="")
        for start in range(0, records, batch):
            documents = []
            for index in range(start, min(start + batch, records)):
                record, results = synthetic_event(index, rng)
                documents.append(synthetic_document(record, results, GATES))
            await store.collection.insert_many(documents, ordered=False)
            done = min(start + batch, records)
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, rate=f"{rate:,.0f} docs/s")
    return time.perf_counter() - started


async def measure(
    mix: dict[str, Query], clients: int, seconds: float, min_samples: int
) -> dict[str, list[float]]:
    """Clients loop over the mix until the time is up and every query has enough samples."""
    latencies: dict[str, list[float]] = defaultdict(list)
    names = list(mix)
    deadline = time.perf_counter() + seconds

    def done() -> bool:
        enough = all(len(latencies[name]) >= min_samples for name in names)
        return time.perf_counter() >= deadline and enough

    async def client(offset: int) -> None:
        turn = offset
        while not done():
            name = names[turn % len(names)]
            turn += 1
            began = time.perf_counter()
            await mix[name]()
            latencies[name].append(time.perf_counter() - began)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


async def levels_of(
    mix: dict[str, Query], levels: list[int], seconds: float, min_samples: int
) -> dict[str, Any]:
    for query in mix.values():  # warm caches once
        await query()
    results: dict[str, Any] = {}
    for clients in levels:
        with console.status(f"{clients} concurrent client(s) for {seconds:.0f}s"):
            began = time.perf_counter()
            latencies = await measure(mix, clients, seconds, min_samples)
            elapsed = time.perf_counter() - began
        total = sum(len(v) for v in latencies.values())
        results[str(clients)] = {
            "requests": total,
            "requests_per_s": total / elapsed,
            "queries": {name: {**latency_summary(v), "n": len(v)} for name, v in latencies.items()},
        }
    return results


async def run(
    mongo_url: str,
    records: int,
    batch: int,
    levels: list[int],
    seconds: float,
    keep: bool,
    min_samples: int = 5,
    database: str | None = None,
    via: str = "store",
) -> dict[str, Any]:
    database_name = database or f"bench_catalog_{datetime.now(UTC):%Y%m%d%H%M%S}"
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_url, tz_aware=True, maxPoolSize=max(levels) + 8
    )
    try:
        info = await client.admin.command("buildInfo")
        store = RecordStore(client[database_name]["records"], gates=GATES)
        await store.ensure_indexes()  # as the catalog does at start: loads pay for them
        present = await store.collection.estimated_document_count()
        if present not in (0, records):
            raise click.UsageError(
                f"database {database_name} holds {present} records, not {records}"
            )
        reused = present == records  # a kept database: time the queries only
        load_s = 0.0 if reused else await load(store, records, batch, seed=records)
        # The facet read model: from the cells the loaded records carry, or (a database
        # loaded by older code) by re-deriving every record, as `medshare catalog rederive`.
        began = time.perf_counter()
        if reused and not await store.facets.complete():
            with console.status("re-deriving the loaded records"):
                await store.rederive_all()
        else:
            await store.rebuild_facets()
        facets_s = time.perf_counter() - began
        searcher = Searcher(store.collection, facet_model=store.facets)
        scope = researcher_scope()
        # The cursor that opens page 20 of the unfiltered list: the 1,000th record's key.
        stages = match_stages(scope.record_filter())
        stages += [{"$sort": dict(sort_spec("recent"))}, {"$skip": 999}, {"$limit": 1}]
        row = await searcher.run(stages)
        cursor = encode_cursor("recent", row[0]) if row else None
        visible = await searcher.count(scope.record_filter())
        if via == "http":
            institutions = [grant.institution for grant in scope.grants]
            async with catalog_service(mongo_url, store.collection.database, institutions) as http:
                results = await levels_of(http_mix(http, cursor), levels, seconds, min_samples)
        else:
            mix = query_mix(searcher, scope, cursor)
            results = await levels_of(mix, levels, seconds, min_samples)
        return {
            "records": records,
            "via": via,
            "visible_to_researcher": visible,
            "server": {"url_scheme": mongo_url.split(":")[0], "version": info.get("version")},
            "load": {
                "seconds": load_s,
                "docs_per_s": records / load_s if load_s else None,
                "batch": batch,
                "reused_database": reused,
                "facet_read_model_s": facets_s,
            },
            "indexes": len(await store.collection.index_information()),
            "seconds_per_level": seconds,
            "min_samples_per_query": min_samples,
            "concurrency": results,
        }
    finally:
        if not keep and database is None:
            await client.drop_database(database_name)
        await client.close()


def report(document: dict[str, Any], out: Path) -> None:
    levels = list(document["concurrency"])
    queries = list(document["concurrency"][levels[0]]["queries"])
    table = Table(title=f"catalog search, {document['records']:,} records (ms)")
    table.add_column("query")
    for level in levels:
        table.add_column(f"p50 @{level}", justify="right")
        table.add_column(f"p99 @{level}", justify="right")
    for query in queries:
        cells = []
        for level in levels:
            stats = document["concurrency"][level]["queries"].get(query, {})
            cells += [f"{stats.get('p50_ms', 0):.1f}", f"{stats.get('p99_ms', 0):.1f}"]
        table.add_row(query, *cells)
    console.print(table)
    rates = ", ".join(
        f"{lv} clients: {document['concurrency'][lv]['requests_per_s']:.1f}/s" for lv in levels
    )
    rate = document["load"]["docs_per_s"]
    loaded = f"{rate:,.0f} docs/s" if rate else "reused database"
    console.print(f"load: {loaded}; throughput {rates}")
    for metric in ("p50_ms", "p99_ms"):
        series: dict[str, Sequence[float]] = {
            f"{level} client(s)": [
                document["concurrency"][level]["queries"][q][metric] for q in queries
            ]
            for level in levels
        }
        name = (
            out.with_suffix(".png") if metric == "p99_ms" else out.with_name(out.stem + "-p50.png")
        )
        bar_plot(
            name,
            f"catalog search {metric[:3]} ({document['records']:,} records)",
            [PLOT_LABELS.get(q, q) for q in queries],
            series,
            "milliseconds",
        )


@click.command("catalog")
@click.option("--records", type=click.IntRange(1, 1_000_000), default=100_000, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="result JSON")
@click.option("--concurrency", default="1,16,64", show_default=True, help="client counts")
@click.option("--seconds", type=float, default=20.0, show_default=True, help="per level")
@click.option("--batch", type=int, default=5000, show_default=True, help="insert_many batch")
@click.option("--mongo-url", default=None, help="default MEDSHARE_MONGO_URL")
@click.option("--min-samples", type=int, default=5, show_default=True, help="per query and level")
@click.option("--keep", is_flag=True, help="keep the loaded database")
@click.option(
    "--via",
    type=click.Choice(["store", "http"]),
    default="store",
    show_default=True,
    help="call the search code in this process, or the HTTP API of a catalog process "
    "(bearer token, scope, audit) as a researcher's browser does",
)
@click.option(
    "--database",
    default=None,
    help="use (and keep) this database; if it already holds --records records, skip the load",
)
def bench_catalog(
    records: int,
    out: Path,
    concurrency: str,
    seconds: float,
    batch: int,
    mongo_url: str | None,
    min_samples: int,
    keep: bool,
    via: str,
    database: str | None,
) -> None:
    """Load N synthetic records, then time typical searches at 1, 16 and 64 clients."""
    from medshare_catalog.settings import CatalogSettings
    from medshare_shared.settings import load_settings

    url = mongo_url or load_settings(CatalogSettings).mongo_url
    levels = [int(part) for part in concurrency.split(",") if part.strip()]
    document = asyncio.run(
        run(url, records, batch, levels, seconds, keep, min_samples, database, via)
    )
    written = write_results(out, "catalog", document)
    report(written, out)
    console.print(f"results: {out} and {out.with_suffix('.png')}")
