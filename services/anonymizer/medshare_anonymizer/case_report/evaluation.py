"""`medshare deid evaluate-notes`: what a labelled case-report corpus keeps after release.

Each document runs through the service's engine (`Deidentifier.run("case_report",
...)`), then every labelled span is judged where its field ends up in the released
document (`labelled_corpus` places it):

- a PHI span is caught when none of its tokens (runs of letters and digits, 2+
  characters or digits; titles, "year-old" words, masks like "xxx" and a date's year,
  which Safe Harbor keeps, excepted) survives in place (token-level diff of the
  converted field against the released one); in a field the release drops, when
  none of them occurs in any released string; a structured date, when the same
  calendar date is not released anywhere;
- a trap (``TRAP_*``) survives when all of its tokens survive in place (or, if its
  field was dropped, its text occurs in the release);
- token precision: of the free-text tokens the release removed, the share inside a
  labelled PHI span.

Recall and trap survival are over released documents; quarantined and rejected ones
count in their own rates. `medshare bench notes` scores its peers with `score_document`.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from medshare_anonymizer.case_report.labelled_corpus import (
    CorpusError,
    LabelledDocument,
    Release,
    countable,
    is_free_text,
    place_fields,
    read_corpus,
    resolve,
    strings,
    surviving_tokens,
    tokens,
)

NAME_CLASSES = ("NAME_PATIENT", "NAME_RELATIVE", "NAME_CLINICIAN")
Converter = Callable[[LabelledDocument], Any]  # the case report a document becomes, or None


@dataclass(frozen=True)
class Outcome:
    document: str
    label: str
    where: str
    pointer: str
    kept: bool  # a PHI span or a trap still in the release
    text: str


@dataclass
class DocumentScore:
    status: str
    outcomes: list[Outcome] = field(default_factory=list)
    removed_tokens: int = 0
    removed_phi_tokens: int = 0


def _field_name(pointer: str) -> str:
    return "/".join("N" if part.isdigit() else part for part in pointer.split("/"))


def score_document(doc: LabelledDocument, converted: Any, release: Release) -> DocumentScore:
    """Judges every labelled span of one document against what the tool released."""
    score = DocumentScore(release.status)
    if release.status != "ok" or converted is None:
        return score
    source = json.loads(doc.data)
    released = release.document
    pointers = sorted({s.pointer for s in doc.spans} | {p for p, _ in strings(source)
                                                        if is_free_text(p)})  # fmt: skip
    same_shape = "resourceType" not in source
    placements = place_fields(source, converted, pointers, same_shape)
    all_text = [v for _, v in strings(released)] + release.extra
    all_tokens = {t for value in all_text for _, _, t in tokens(value)}
    kept_cache: dict[str, set[int]] = {}

    def kept_in_place(target: str) -> tuple[list[tuple[int, int, str]], set[int]] | None:
        after = resolve(released, target)
        before = resolve(converted, target)
        if not isinstance(after, str) or not isinstance(before, str):
            return None
        if target not in kept_cache:
            kept_cache[target] = surviving_tokens(before, after)
        return tokens(before), kept_cache[target]

    for span in doc.spans:
        text = str(resolve(source, span.pointer) or "")[span.start : span.end]
        place = placements[span.pointer]
        words = [t for _, _, t in tokens(text)]
        placed = kept_in_place(place.pointer) if place.pointer else None
        if span.label == "DATE" and span.where == "structured":
            kept = any(text in value for value in all_text)
        elif placed is None:
            if span.trap:
                kept = any(text in value for value in all_text)
            else:
                kept = text in " ".join(all_text) or any(
                    words[i] in all_tokens
                    for i in countable(span.label, words)
                    if not words[i].isdigit() or len(words[i]) >= 4  # "05" occurs by chance
                )
        else:
            found, survivors = placed
            start, end = place.to_converted(span.start, span.end)
            inside = [i for i, (s, e, _) in enumerate(found) if s < end and start < e]
            hits = [i in survivors for i in inside]
            if span.trap:
                kept = bool(hits) and all(hits)
            else:
                picked = countable(span.label, [found[i][2] for i in inside])
                kept = any(hits[i] for i in picked)
        score.outcomes.append(Outcome(doc.name, span.label, span.where,
                                      _field_name(span.pointer), kept, text))  # fmt: skip
    _precision(doc, source, placements, kept_in_place, score)
    return score


def _precision(doc: LabelledDocument, source: Any, placements: Any, kept_in_place: Any,
               score: DocumentScore) -> None:  # fmt: skip
    """Counts removed free-text tokens, and those inside a labelled PHI span."""
    for pointer, place in placements.items():
        placed = kept_in_place(place.pointer) if place.pointer else None
        if not is_free_text(pointer) or placed is None:
            continue
        found, survivors = placed
        raw = resolve(source, pointer)
        start, end = place.to_converted(0, len(raw))
        phi = [place.to_converted(s.start, s.end) for s in doc.spans
               if s.pointer == pointer and not s.trap]  # fmt: skip
        for i, (s, e, word) in enumerate(found):
            if not (start <= s and e <= end) or i in survivors:
                continue
            if len(word) < 2 and not word.isdigit():
                continue
            score.removed_tokens += 1
            score.removed_phi_tokens += any(a < e and s < b for a, b in phi)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarise(scores: list[DocumentScore], seconds: float) -> dict[str, Any]:
    """Recall per class, free text, names, trap survival, precision, rates, speed."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    misses: Counter[str] = Counter()
    for score in scores:
        for o in score.outcomes:
            keys = [o.label, f"{o.where}:{o.label}"]
            keys += ["TRAP" if o.label.startswith("TRAP_") else "PHI"]
            keys += [] if o.label.startswith("TRAP_") else [f"{o.where}:PHI"]
            keys += [f"{o.where}:NAME"] if o.label in NAME_CLASSES else []
            for key in keys:
                counts[key]["total"] += 1
                counts[key]["kept"] += o.kept
            if o.kept != o.label.startswith("TRAP_"):
                misses[f"{o.label} {o.where} {o.pointer}"] += 1
    statuses = Counter(s.status for s in scores)

    def caught(key: str) -> float | None:
        return _ratio(counts[key]["total"] - counts[key]["kept"], counts[key]["total"])

    phi = sorted(k for k in counts if ":" not in k and k not in ("PHI", "TRAP")
                 and not k.startswith("TRAP_"))  # fmt: skip
    traps = sorted(k for k in counts if k.startswith("TRAP_"))
    removed = sum(s.removed_tokens for s in scores)
    return {
        "documents": len(scores),
        "recall": caught("PHI"),
        "free_text_recall": caught("free:PHI"),
        "names_recall": _ratio(
            sum(
                counts[f"{w}:NAME"]["total"] - counts[f"{w}:NAME"]["kept"]
                for w in ("free", "structured")
            ),
            sum(counts[f"{w}:NAME"]["total"] for w in ("free", "structured")),
        ),
        "free_text_names_recall": caught("free:NAME"),
        "recall_per_class": {k: caught(k) for k in phi},
        "free_text_recall_per_class": {k: caught(f"free:{k}") for k in phi},
        "spans_per_class": {k: counts[k]["total"] for k in phi + traps},
        "trap_survival": _ratio(counts["TRAP"]["kept"], counts["TRAP"]["total"]),
        "trap_survival_per_kind": {k: _ratio(counts[k]["kept"], counts[k]["total"]) for k in traps},
        "token_precision": _ratio(sum(s.removed_phi_tokens for s in scores), removed),
        "quarantine_rate": _ratio(statuses["quarantined"], len(scores)),
        "rejection_rate": _ratio(statuses["rejected"], len(scores)),
        "statuses": dict(statuses),
        "seconds": round(seconds, 3),
        "reports_per_second": round(len(scores) / seconds, 2) if seconds else None,
        "misses": dict(misses.most_common()),
    }


def misses(scores: Iterable[DocumentScore]) -> list[dict[str, Any]]:
    """Every PHI span kept and trap lost, with its text (for a local file only)."""
    return [o.__dict__ for s in scores for o in s.outcomes if o.kept != o.label.startswith("TRAP_")]


def convert(doc: LabelledDocument) -> Any:
    """The case report a document becomes (shared's FHIR mapping), as JSON; None if invalid."""
    from medshare_shared.case_report import CaseReport
    from medshare_shared.fhir import bundle_to_case_report

    try:
        document = json.loads(doc.data)
        if "fhir" in doc.media_type or document.get("resourceType") == "Bundle":
            return bundle_to_case_report(document).model_dump(mode="json")
        return CaseReport.model_validate(document).model_dump(mode="json")
    except Exception:  # an invalid document is the tool's rejection, scored as such
        return None


def medshare_release(deidentifier: Any, doc: LabelledDocument) -> Release:
    """The service's engine on one document: the released JSON and catalog metadata."""
    outcome = deidentifier.run("case_report", doc.media_type, doc.data, "evaluation")
    if outcome.status != "ok" or outcome.output is None:
        return Release(outcome.status, reason=outcome.reason)
    extra = [value for _, value in strings(outcome.metadata)]
    return Release("ok", json.loads(outcome.output), extra)


def evaluate_corpus(
    documents: list[LabelledDocument],
) -> tuple[dict[str, Any], list[DocumentScore]]:
    from medshare_anonymizer.case_report import ner
    from medshare_anonymizer.deidentify import Deidentifier
    from medshare_anonymizer.pseudonyms import PseudonymKeys

    deidentifier = Deidentifier(PseudonymKeys(b"medshare-evaluate-notes-secret!!"), frozenset())
    ner.warm()  # loaded once per process, as a service does at start-up: not per report
    scores, seconds = [], 0.0
    for doc in documents:
        began = time.perf_counter()
        release = medshare_release(deidentifier, doc)
        seconds += time.perf_counter() - began
        scores.append(score_document(doc, convert(doc), release))
    return summarise(scores, seconds), scores


def format_table(result: dict[str, Any]) -> str:
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [f"{'class':<18} {'spans':>6} {'recall':>7} {'free text':>9}"]
    for label, recall in result["recall_per_class"].items():
        free = result["free_text_recall_per_class"][label]
        lines.append(f"{label:<18} {result['spans_per_class'][label]:>6} {cell(recall):>7} "
                     f"{cell(free):>9}")  # fmt: skip
    for label, survival in result["trap_survival_per_kind"].items():
        lines.append(f"{label:<18} {result['spans_per_class'][label]:>6} {cell(survival):>7}")
    lines.append(
        f"recall {cell(result['recall'])}, free text {cell(result['free_text_recall'])}, "
        f"names {cell(result['names_recall'])}, trap survival {cell(result['trap_survival'])}, "
        f"token precision {cell(result['token_precision'])}, "
        f"quarantined {cell(result['quarantine_rate'])}, {result['reports_per_second']} reports/s"
    )
    return "\n".join(lines)


@click.command("evaluate-notes")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="a labelled corpus part: docs/ + labels/")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="write the scores here (JSON, no PHI text)")  # fmt: skip
@click.option("--misses", "misses_file", type=click.Path(dir_okay=False, path_type=Path),
              help="also write every miss WITH its text here (keep it local)")  # fmt: skip
def evaluate_notes(corpus: Path, out: Path, misses_file: Path | None) -> None:
    """Recall per PHI class, trap survival and precision of case-report de-identification."""
    try:
        documents = read_corpus(corpus)
    except CorpusError as exc:
        raise click.BadParameter(str(exc), param_hint="--corpus") from None
    result, scores = evaluate_corpus(documents)
    result["source"] = corpus.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if misses_file is not None:
        misses_file.write_text(json.dumps(misses(scores), indent=1, ensure_ascii=False) + "\n")
    click.echo(format_table(result))
    click.echo(f"{result['documents']} documents; scores written to {out}")
