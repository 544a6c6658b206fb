"""`medshare bench deid`: medshare against dicognito, pydicom/deid and Orthanc, one run.

Every tool de-identifies the same corpus, bytes in memory to bytes out, one instance
at a time, on one pinned core; the in-process tools take turns on each instance
(Orthanc, a server, runs after them). Reported per tool: instances per second and MB per
second over the whole corpus (refusals included: a refusal is a result), the same
over the *common* instances every tool produced output for (like for like), and how
many of the profile's attributes it actually handled (``deid_handled``).
Timings exclude each tool's one-off set-up and a warm-up instance.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medshare_anonymizer.dicom.cli import is_dicom_file
from medshare_anonymizer.dicom.options import validate_options
from medshare_bench.deid_handled import Handled, values
from medshare_bench.peers.deidentifiers import Deid, Dicognito, Medshare, Tool
from medshare_bench.peers.orthanc import run_orthanc, unavailable_reason
from medshare_bench.plot import bar_plot
from medshare_bench.results import write_results

TOOLS = ("medshare", "dicognito", "deid", "orthanc")
TARGET_RATIO = 3.0


def default_corpus() -> list[Path]:
    """pydicom's own test files and the installed pydicom-data files (no downloads)."""
    import pydicom.data
    from pydicom.data.data_manager import external_data_sources

    roots = [Path(pydicom.data.__file__).parent / "test_files"]
    roots += [Path(source.data_path) for source in external_data_sources().values()]
    return sorted({p for root in roots for p in root.rglob("*.dcm") if p.is_file()})


def corpus_files(folder: Path | None) -> list[Path]:
    if folder is None:
        return default_corpus()
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_dicom_file(p))


@dataclass
class ToolRun:
    name: str
    version: str
    seconds: list[float] = field(default_factory=list)
    produced: list[bool] = field(default_factory=list)
    tallies: list[Handled | None] = field(default_factory=list)
    failures: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # medshare's own outcomes
    pixel_seconds: list[float] = field(default_factory=list)  # medshare: text search
    ocr_seconds: list[float] = field(default_factory=list)
    note: str = ""

    def rate(self, indices: list[int], sizes: list[int]) -> dict[str, float]:
        spent = sum(self.seconds[i] for i in indices)
        volume = sum(sizes[i] for i in indices)
        return {
            "instances": len(indices),
            "seconds": round(spent, 4),
            "instances_per_second": round(len(indices) / spent, 1) if spent else 0.0,
            "mb_per_second": round(volume / spent / 1e6, 1) if spent else 0.0,
        }

    def handled(self, indices: list[int]) -> Handled:
        total = Handled()
        for index in indices:
            tally = self.tallies[index]
            if tally is not None:
                total = total + tally
        return total


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _make_tool(name: str, options: frozenset[str]) -> tuple[Tool, str]:
    if name == "medshare":
        return Medshare(options), _version("medshare-anonymizer")
    if name == "dicognito":
        return Dicognito(), _version("dicognito")
    return Deid(options), _version("deid")


def _record(run: ToolRun, source: dict[Any, Any] | None, output: bytes | None) -> None:
    run.produced.append(output is not None)
    if output is None or source is None:
        run.tallies.append(None)
        return
    try:
        run.tallies.append(Handled.compare(source, values(output, only_profile=False)))
    except Exception:  # an output pydicom cannot read: nothing measurable
        run.tallies.append(None)


def _time_one(tool: Tool, run: ToolRun, data: bytes, source: dict[Any, Any] | None) -> None:
    started = time.perf_counter()
    try:
        output = tool.run(data)
    except Exception:
        output = None
        run.failures += 1
    run.seconds.append(time.perf_counter() - started)
    status = getattr(tool, "last_status", "")
    if status:
        run.statuses[status] += 1
        run.pixel_seconds.append(getattr(tool, "last_pixel_seconds", 0.0))
        run.ocr_seconds.append(getattr(tool, "last_ocr_seconds", 0.0))
    _record(run, source, output)  # outside the timed part


def _measure(
    tools: list[tuple[Tool, str]],
    datas: list[bytes],
    sources: list[dict[Any, Any] | None],
    progress: Progress,
) -> list[ToolRun]:
    """Times the in-process tools instance by instance, taking turns on each instance, so
    that load from elsewhere on a shared machine falls on all of them alike."""
    runs = [ToolRun(tool.name, version) for tool, version in tools]
    for tool, _ in tools:
        with contextlib.suppress(Exception):  # the timed loop below records failures
            tool.run(datas[0])  # warm-up: imports, caches, tables
    task = progress.add_task("in-process", total=len(datas))
    gc.collect()
    gc.freeze()  # the corpus and its reference values are not garbage: never rescan them
    try:
        for data, source in zip(datas, sources, strict=True):
            for (tool, _), run in zip(tools, runs, strict=True):
                _time_one(tool, run, data, source)
            progress.advance(task)
    finally:
        gc.unfreeze()
    return runs


def _orthanc(files: list[Path], sources: list[dict[Any, Any] | None], cpu: int) -> ToolRun:
    reason = unavailable_reason()
    if reason is not None:
        return ToolRun("orthanc", "-", note=reason)
    with tempfile.TemporaryDirectory(prefix="medshare-bench-orthanc-") as workdir:
        measured = run_orthanc(files, Path(workdir), cpu)
        run = ToolRun("orthanc", measured.version, seconds=measured.seconds)
        for output, source in zip(measured.outputs, sources, strict=True):
            _record(run, source, output.read_bytes() if output else None)
    return run


def _table(runs: list[ToolRun], summary: dict[str, Any], common: int) -> Table:
    table = Table(title=f"DICOM de-identification, one core ({common} common instances)")
    for header in ("tool", "version", "output / input", "inst/s", "MB/s",
                   "inst/s common", "MB/s common", "profile attrs handled (common)"):  # fmt: skip
        table.add_column(header, justify="left" if header in ("tool", "version") else "right")
    for run in runs:
        tool = summary[run.name]
        if run.note:
            table.add_row(run.name, "-", run.note, "", "", "", "", "")
            continue
        handled = tool["handled_common"]
        table.add_row(
            run.name, run.version, f"{tool['produced']} / {tool['attempted']}",
            f"{tool['all']['instances_per_second']:.0f}", f"{tool['all']['mb_per_second']:.1f}",
            f"{tool['common']['instances_per_second']:.0f}",
            f"{tool['common']['mb_per_second']:.1f}",
            f"{handled['handled']} / {handled['present']} ({handled['handled_fraction']:.1%})",
        )  # fmt: skip
    return table


def run_tools(files: list[Path], datas: list[bytes], chosen: list[str], options: frozenset[str],
              cpu: int, console: Console) -> list[ToolRun]:  # fmt: skip
    """Each chosen tool over the whole corpus, one after the other."""
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("reading", total=len(datas))
        sources: list[dict[Any, Any] | None] = []
        for data in datas:
            try:
                sources.append(values(data, only_profile=True))
            except Exception:  # unreadable input: timed, but not measurable
                sources.append(None)
            progress.advance(task)
        tools = [_make_tool(name, options) for name in chosen if name != "orthanc"]
        runs = _measure(tools, datas, sources, progress)
    if "orthanc" in chosen:
        console.print("orthanc: running in a private network namespace ...")
        runs.append(_orthanc(files, sources, cpu))
    return runs


def summarise(runs: list[ToolRun], sizes: list[int]) -> tuple[dict[str, Any], list[int]]:
    measured = [run for run in runs if not run.note]
    everything = list(range(len(sizes)))
    common = [i for i in everything if all(run.produced[i] for run in measured)]
    summary: dict[str, Any] = {}
    for run in runs:
        if run.note:
            summary[run.name] = {"unavailable": run.note}
            continue
        summary[run.name] = {
            "version": run.version,
            "attempted": len(sizes),
            "produced": sum(run.produced),
            "failures": run.failures,
            "all": run.rate(everything, sizes),
            "common": run.rate(common, sizes),
            "handled_all": run.handled(everything).summary(),
            "handled_common": run.handled(common).summary(),
        }
        if run.pixel_seconds:
            summary[run.name]["text_in_pixels"] = _text_costs(run, everything)
    return summary, common


def _text_costs(run: ToolRun, indices: list[int]) -> dict[str, float]:
    """What looking for text in pixels cost medshare, apart (included in the rates above)."""
    pixel = sum(run.pixel_seconds[i] for i in indices)
    ocr = [run.ocr_seconds[i] for i in indices if run.ocr_seconds[i] > 0.001]  # read a line
    rest = sum(run.seconds[i] for i in indices) - pixel
    return {
        "seconds_decode_and_screen": round(pixel - sum(ocr), 3),
        "seconds_ocr": round(sum(ocr), 3),
        "images_read_by_ocr": len(ocr),
        "ocr_ms_per_image_read": round(1000 * sum(ocr) / len(ocr), 1) if ocr else 0.0,
        "instances_per_second_without_text_search": round(len(indices) / rest, 1)
        if rest > 0
        else 0.0,
    }


@click.command("deid")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None,
              help="folder of DICOM files (default: pydicom + pydicom-data)")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="result JSON (a PNG plot is written beside it)")  # fmt: skip
@click.option("--tools", default=",".join(TOOLS), show_default=True,
              help="comma-separated subset of " + ", ".join(TOOLS))  # fmt: skip
@click.option("--option", "option_names", multiple=True, metavar="NAME",
              help="Annex E option for medshare (default: the Basic Profile alone)")  # fmt: skip
@click.option("--cpu", type=int, default=0, show_default=True, help="the one core to run on")
def bench_deid(corpus: Path | None, out: Path, tools: str, option_names: tuple[str, ...],
               cpu: int) -> None:  # fmt: skip
    """De-identify one corpus with medshare and its open-source peers; compare."""
    names = {name.strip() for name in tools.split(",") if name.strip()}
    unknown = sorted(names - set(TOOLS))
    chosen = [name for name in TOOLS if name in names]  # medshare first
    if unknown or "medshare" not in chosen:
        raise click.BadParameter(
            f"choose medshare plus any of {', '.join(TOOLS)}", param_hint="--tools"
        )
    try:
        options = validate_options(option_names)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--option") from None
    if cpu not in os.sched_getaffinity(0):
        raise click.BadParameter(f"core {cpu} is not available to this process", param_hint="--cpu")
    files = corpus_files(corpus)
    if not files:
        raise click.BadParameter("no DICOM files found", param_hint="--corpus")
    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=150)  # keep the table on one line per tool
    datas = [path.read_bytes() for path in files]
    sizes = [len(data) for data in datas]
    original_cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        runs = run_tools(files, datas, chosen, options, cpu, console)
    finally:
        os.sched_setaffinity(0, original_cores)
    summary, common = summarise(runs, sizes)
    console.print(_table(runs, summary, len(common)))
    ratios = {}
    if "dicognito" in summary and "common" in summary["dicognito"]:
        for scope in ("all", "common"):
            ours = summary["medshare"][scope]["instances_per_second"]
            theirs = summary["dicognito"][scope]["instances_per_second"]
            ratios[scope] = round(ours / theirs, 2) if theirs else None
        verdict = "met" if (ratios["common"] or 0) >= TARGET_RATIO else "NOT met"
        console.print(f"medshare / dicognito instances per second: {ratios['all']}x all, "
                      f"{ratios['common']}x common; target {TARGET_RATIO}x {verdict}")  # fmt: skip
    write_results(out, "deid", {
        "corpus": str(corpus) if corpus else "pydicom test files + pydicom-data",
        "instances": len(files), "megabytes": round(sum(sizes) / 1e6, 2),
        "common_instances": len(common), "cpu": cpu, "medshare_options": sorted(options),
        "tools": summary, "medshare_over_dicognito": ratios,
        "medshare_statuses": dict(runs[0].statuses),
    })  # fmt: skip
    measured = [run.name for run in runs if not run.note]
    bar_plot(out.with_suffix(".png"), "DICOM de-identification, instances per second (one core)",
             measured, {scope: [summary[n][scope]["instances_per_second"] for n in measured]
                        for scope in ("all", "common")}, "instances / s")  # fmt: skip
    console.print(f"wrote {out} and {out.with_suffix('.png')}")
