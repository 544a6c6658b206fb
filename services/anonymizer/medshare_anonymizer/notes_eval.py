"""Recall and precision of the free-text PHI detector on labelled notes.

Scoring, per PHI class:
- recall: a labelled span counts as found when every letter and digit of it lies
  inside some detected span (whatever label the detector gave it: what matters for
  de-identification is that the value is gone);
- precision: a detected span counts as correct when it overlaps a labelled span.
Names are also scored separately on notes whose names the lexicon has never seen.

`medshare deid evaluate-notes` runs it on the generated set of tests/support/phi_notes.py
(from a source checkout) or on a JSONL corpus of {"text", "spans": [[start, end, label]]}.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from medshare_anonymizer.free_text_phi import LABELS, PhiSpan, detect

GoldSpan = tuple[int, int, str]
Detector = Callable[[str], list[PhiSpan]]


@dataclass(frozen=True)
class LabelledText:
    text: str
    spans: list[GoldSpan]
    unseen_names: bool = False


@dataclass
class ClassScore:
    label: str
    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float | None:
        return self.found / self.gold if self.gold else None

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recall": self.recall, "precision": self.precision}


def _covered(text: str, start: int, end: int, detected: list[PhiSpan]) -> bool:
    covered = [False] * (end - start)
    for span in detected:
        for i in range(max(start, span.start), min(end, span.end)):
            covered[i - start] = True
    return all(hit or not text[start + i].isalnum() for i, hit in enumerate(covered))


def evaluate(notes: Iterable[LabelledText], detector: Detector = detect) -> dict[str, Any]:
    """Per-class scores, overall scores and name recall on unseen names."""
    scores = {label: ClassScore(label) for label in LABELS}
    overall = ClassScore("ALL")
    unseen = ClassScore("NAME (unseen names)")
    count = 0
    for note in notes:
        count += 1
        detected = detector(note.text)
        for start, end, label in note.spans:
            found = _covered(note.text, start, end, detected)
            for score in (scores.setdefault(label, ClassScore(label)), overall):
                score.gold += 1
                score.found += found
            if label == "NAME" and note.unseen_names:
                unseen.gold += 1
                unseen.found += found
        for span in detected:
            correct = any(span.start < end and start < span.end for start, end, _ in note.spans)
            for score in (scores.setdefault(span.label, ClassScore(span.label)), overall):
                score.predicted += 1
                score.correct += correct
    return {
        "notes": count,
        "classes": {label: score.as_dict() for label, score in scores.items()},
        "overall": overall.as_dict(),
        "unseen_names": unseen.as_dict(),
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(result: dict[str, Any]) -> str:
    rows = [*result["classes"].values(), result["unseen_names"], result["overall"]]
    lines = [f"{'class':<22} {'gold':>5} {'found':>5} {'recall':>7} {'pred':>5} {'precision':>9}"]
    for row in rows:
        lines.append(
            f"{row['label']:<22} {row['gold']:>5} {row['found']:>5} {_fmt(row['recall']):>7} "
            f"{row['predicted']:>5} {_fmt(row['precision']):>9}"
        )
    return "\n".join(lines)


def generated_notes(count: int, seed: int) -> list[LabelledText]:
    """The generated set; needs the source checkout (the generator lives with the tests)."""
    try:
        module = importlib.import_module("tests.support.phi_notes")
    except ImportError:
        # An editable install: the repository root is three levels above this package.
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
        try:
            module = importlib.import_module("tests.support.phi_notes")
        except ImportError:
            raise click.UsageError(
                "the generated note set needs a source checkout; pass --corpus FILE.jsonl"
            ) from None
    return [
        LabelledText(n.text, n.spans, n.unseen_names) for n in module.generate_notes(count, seed)
    ]


def read_corpus(path: Path) -> list[LabelledText]:
    notes = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            spans = [(int(s), int(e), str(label)) for s, e, label in item["spans"]]
            notes.append(LabelledText(str(item["text"]), spans, bool(item.get("unseen_names"))))
        except (ValueError, KeyError, TypeError):
            raise click.BadParameter(
                f"line {number} is not a labelled note", param_hint="--corpus"
            ) from None
    return notes


@click.command("evaluate-notes")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="write the scores here (JSON)")  # fmt: skip
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="labelled notes (JSONL); default: the generated set")  # fmt: skip
@click.option("--count", type=click.IntRange(min=1), default=600, show_default=True)
@click.option("--seed", type=int, default=20240611, show_default=True)
def evaluate_notes(out: Path, corpus: Path | None, count: int, seed: int) -> None:
    """Recall and precision per PHI class of the free-text detector."""
    notes = read_corpus(corpus) if corpus else generated_notes(count, seed)
    result = evaluate(notes)
    result["source"] = str(corpus) if corpus else f"generated (count={count}, seed={seed})"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(format_table(result))
    click.echo(f"{result['notes']} notes; scores written to {out}")


def summary(notes: Iterable[LabelledText]) -> Counter[str]:
    """Labelled spans per class (to check a corpus covers every class)."""
    return Counter(label for note in notes for _, _, label in note.spans)
