"""`medshare bench notes`: case-report de-identification beside Philter and Presidio.

Every document goes through the ingest door's check (`check_case_report`), then:

- medshare: the anonymizer's engine, `Deidentifier.run("case_report", ...)`;
- philter, presidio: the case report the document converts to (shared's FHIR
  mapping), every string field of it (notes, diagnosis displays, and the structured
  name, phone, identifiers, dates...) scrubbed by the peer in its own virtualenv.

All three releases are scored by the same rule (`case_report.evaluation`); the time
per report (door check included, scoring excluded) gives reports/s on one core.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medshare_anonymizer.case_report import ner
from medshare_anonymizer.case_report.evaluation import (
    convert,
    medshare_release,
    misses,
    score_document,
    summarise,
)
from medshare_anonymizer.case_report.labelled_corpus import (
    CorpusError,
    LabelledDocument,
    Release,
    read_corpus,
    strings,
)
from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_bench.peers.deidentifiers import BENCH_SECRET
from medshare_bench.peers.text_scrubbers import TextScrubber, peers_python
from medshare_bench.plot import bar_plot
from medshare_bench.results import write_results
from medshare_ingest.limits import InvalidSubmission
from medshare_ingest.validation import check_case_report

TOOLS = ("medshare", "philter", "presidio")
CHECKPOINT_EVERY = 20  # a long run writes what it has so far


def _replace(document: Any, pointer: str, value: str) -> None:
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def peer_release(scrubber: TextScrubber, converted: Any) -> Release:
    """The converted report with every string field scrubbed by the peer."""
    fields = strings(converted)
    released = copy.deepcopy(converted)
    for (pointer, _), text in zip(fields, scrubber.scrub([v for _, v in fields]), strict=True):
        _replace(released, pointer, text)
    return Release("ok", released)


def _release(tool: str, worker: Any, doc: LabelledDocument) -> Release:
    try:
        check_case_report(doc.data, doc.media_type)
    except InvalidSubmission as error:
        return Release("rejected", reason=str(error)[:200])
    if tool == "medshare":
        return medshare_release(worker, doc)
    converted = convert(doc)
    return Release("rejected") if converted is None else peer_release(worker, converted)


Checkpoint = Callable[[dict[str, Any]], None]


def run_tool(
    tool: str, documents: list[LabelledDocument], bar: Progress, checkpoint: Checkpoint
) -> tuple[dict[str, Any], list[Any]]:
    if tool == "medshare":
        worker: Any = Deidentifier(PseudonymKeys(BENCH_SECRET), frozenset())
        ner.warm()  # the peers load their models before the clock starts too
        version = ""
    else:
        worker = TextScrubber(tool, peers_python())
        version = worker.version
    task = bar.add_task(tool, total=len(documents))
    scores, seconds = [], 0.0
    try:
        for doc in documents:
            began = time.perf_counter()
            release = _release(tool, worker, doc)
            seconds += time.perf_counter() - began
            scores.append(score_document(doc, convert(doc), release))
            bar.advance(task)
            if len(scores) % CHECKPOINT_EVERY == 0 and len(scores) < len(documents):
                checkpoint({"version": version, "partial": True, **summarise(scores, seconds)})
    finally:
        if isinstance(worker, TextScrubber):
            worker.close()
    return {"version": version, **summarise(scores, seconds)}, scores


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    """The README's table: one row per measure, one column per tool."""
    tools = list(results)

    def cell(value: Any) -> str:
        return (
            "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        )

    rows = [("all PHI recall", "recall"), ("free-text recall", "free_text_recall"),
            ("names recall (free text)", "free_text_names_recall")]  # fmt: skip
    lines = ["| measure | " + " | ".join(tools) + " |", "| --- |" + " ---: |" * len(tools)]
    for title, key in rows:
        lines.append(f"| {title} | " + " | ".join(cell(results[t][key]) for t in tools) + " |")
    classes = sorted({c for t in tools for c in results[t]["free_text_recall_per_class"]})
    for label in classes:
        values = [cell(results[t]["free_text_recall_per_class"].get(label)) for t in tools]
        lines.append(f"| free-text recall {label} | " + " | ".join(values) + " |")
    kinds = sorted({k for t in tools for k in results[t]["trap_survival_per_kind"]})
    for key, title in (("trap_survival", "trap survival (all)"), ("token_precision",
                       "token precision"), ("quarantine_rate", "quarantined"),
                       ("reports_per_second", "reports/s (one core)")):  # fmt: skip
        lines.append(f"| {title} | " + " | ".join(cell(results[t][key]) for t in tools) + " |")
    for kind in kinds:
        values = [cell(results[t]["trap_survival_per_kind"].get(kind)) for t in tools]
        lines.append(f"| trap survival {kind} | " + " | ".join(values) + " |")
    return "\n".join(lines)


@click.command("notes")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="a labelled corpus part (docs/ + labels/)")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="results JSON (a PNG plot is written beside it)")  # fmt: skip
@click.option("--tools", default=",".join(TOOLS), show_default=True,
              help="comma-separated: medshare, philter, presidio")  # fmt: skip
@click.option("--limit", type=int, default=None, help="only the first N documents")
@click.option("--misses", "misses_file", type=click.Path(dir_okay=False, path_type=Path),
              help="also write every miss WITH its text here (keep it local)")  # fmt: skip
def bench_notes(corpus: Path, out: Path, tools: str, limit: int | None,
                misses_file: Path | None) -> None:  # fmt: skip
    """Recall per PHI class, trap survival, precision and speed: medshare and its peers."""
    chosen = [t.strip() for t in tools.split(",") if t.strip()]
    unknown = sorted(set(chosen) - set(TOOLS))
    if unknown or not chosen:
        raise click.BadParameter(f"unknown tool(s) {', '.join(unknown)}", param_hint="--tools")
    try:
        documents = read_corpus(corpus)[:limit]
    except CorpusError as exc:
        raise click.BadParameter(str(exc), param_hint="--corpus") from None
    results: dict[str, dict[str, Any]] = {}
    all_misses: dict[str, list[Any]] = {}
    columns = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip

    def write(partial: dict[str, Any] | None = None, tool: str = "") -> None:
        tools = {**results, **({tool: partial} if partial else {})}
        write_results(out, "notes", {"corpus": corpus.name, "documents": len(documents),
                                     "tools": tools})  # fmt: skip

    with Progress(*columns, console=Console(stderr=True)) as bar:
        for tool in chosen:
            results[tool], scores = run_tool(tool, documents, bar,
                                             lambda partial, t=tool: write(partial, t))  # type: ignore[misc]  # fmt: skip
            all_misses[tool] = misses(scores)
            write()
    if misses_file is not None:
        misses_file.write_text(json.dumps(all_misses, indent=1, ensure_ascii=False) + "\n")
    classes = sorted({c for r in results.values() for c in r["recall_per_class"]})
    series: dict[str, Sequence[float]] = {
        t: [float(r["recall_per_class"].get(c) or 0.0) for c in classes] for t, r in results.items()
    }
    bar_plot(out.with_suffix(".png"), f"PHI recall per class ({corpus.name}, {len(documents)} "
             "reports)", [c.replace("_", "\n") for c in classes], series, "recall")  # fmt: skip
    click.echo(markdown_table(results))
    click.echo(f"results written to {out} and {out.with_suffix('.png')}")
