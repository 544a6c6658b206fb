"""Labelled case-report corpora and the per-span scoring rule of `evaluation`.

A corpus part is ``DIR/docs/NNNN.json`` (the document as POSTed: a JSON case report
or a FHIR R4 Bundle) beside ``DIR/labels/NNNN.json`` (``{"format", "media_type",
"spans": [{"pointer", "start", "end", "text", "class", "where"}]}``, the pointer an
RFC 6901 JSON pointer to a string field, offsets into its decoded value; classes
``TRAP_*`` must survive). docs/anonymizer.md describes the format and the rule.

Where a span ends up: the input field is found in the case report the document
converts to (same pointer for a JSON report; for a Bundle, the converted field equal
to or containing the field's text, a narrative compared as the converter flattens
it), then at the same pointer in the released document. A field the release drops
is looked for anywhere in the released strings.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"[^\W_]+")
_TAG = re.compile(r"<[^>]+>|&[#\w]+;")
_FREE_TEXT = re.compile(r"(^/notes$)|(/text/div$)|(/note/\d+/text$)|(/conclusion$)")
# Safe Harbor's "90 or older" category, as the service writes it: no age is left in it.
_POOLED_AGE = re.compile(r"(?<![\w.])90\+")
_YEAR = re.compile(r"^(1[89]|2[01])\d\d$")
# Words around an identifier that identify nobody: a kept "Dr" or "-year-old" is no leak.
_NEUTRAL = frozenset(
    ("dr", "mr", "mrs", "ms", "miss", "mx", "prof", "md", "do", "rn", "np", "pa", "phd", "the",
     "of", "and", "on", "at", "year", "years", "yr", "yrs", "old", "yo", "aged", "st", "nd",
     "rd", "th")
)  # fmt: skip


class CorpusError(ValueError):
    """A directory that is not a labelled corpus (the message names the file)."""


@dataclass(frozen=True)
class Span:
    pointer: str
    start: int
    end: int
    label: str
    where: str

    @property
    def trap(self) -> bool:
        return self.label.startswith("TRAP_")


@dataclass(frozen=True)
class LabelledDocument:
    name: str
    data: bytes
    media_type: str
    spans: list[Span]
    style: str = ""


def read_corpus(directory: Path) -> list[LabelledDocument]:
    """The documents of a corpus part (``docs/`` + ``labels/``), in file-name order."""
    labels = sorted((directory / "labels").glob("*.json"))
    if not labels:
        raise CorpusError(f"no labels/*.json in {directory.name}")
    documents = []
    for path in labels:
        try:
            item = json.loads(path.read_text("utf-8"))
            spans = [Span(str(s["pointer"]), int(s["start"]), int(s["end"]), str(s["class"]),
                          str(s.get("where", "free"))) for s in item["spans"]]  # fmt: skip
            doc_path = directory / str(item.get("document", f"docs/{path.name}"))
            data = doc_path.read_bytes()
            media_type = str(item.get("media_type") or _media_type(item.get("format")))
        except FileNotFoundError as error:
            raise CorpusError(f"{Path(str(error.filename)).name} is missing") from None
        except (ValueError, KeyError, TypeError):
            raise CorpusError(f"labels/{path.name} is not a label file") from None
        documents.append(LabelledDocument(path.stem, data, media_type, spans,
                                          str(item.get("style", ""))))  # fmt: skip
    return documents


def _media_type(kind: object) -> str:
    return "application/fhir+json" if kind == "fhir" else "application/json"


def resolve(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or None."""
    node = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def strings(document: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Every string of a JSON document with its pointer, in document order."""
    if isinstance(document, str):
        return [(prefix, document)]
    if isinstance(document, dict):
        items = ((str(k).replace("~", "~0").replace("/", "~1"), v) for k, v in document.items())
    elif isinstance(document, list):
        items = ((str(i), v) for i, v in enumerate(document))
    else:
        return []
    return [found for key, value in items for found in strings(value, f"{prefix}/{key}")]


def is_free_text(pointer: str) -> bool:
    return _FREE_TEXT.search(pointer) is not None


def flatten_narrative(raw: str) -> tuple[str, list[int]]:
    """The text the FHIR converter makes of an XHTML div, with each character's raw index."""
    chars: list[tuple[str, int]] = []
    position = 0
    for match in [*_TAG.finditer(raw), None]:
        end = match.start() if match else len(raw)
        chars += [(raw[i], i) for i in range(position, end)]
        if match is None:
            break
        if match.group().startswith("&"):
            chars += [(c, match.start()) for c in html.unescape(match.group())]
        else:
            chars.append((" ", match.start()))
        position = match.end()
    text: list[str] = []
    index: list[int] = []
    for char, at in chars:  # whitespace runs collapse to one space, none at the ends
        if char.isspace():
            if text and text[-1] != " ":
                text.append(" ")
                index.append(at)
            continue
        text.append(char)
        index.append(at)
    if text and text[-1] == " ":
        text.pop()
        index.pop()
    return "".join(text), index


@dataclass
class Placement:
    """Where an input field's text sits in the converted report."""

    pointer: str | None  # None: the conversion dropped the field
    offset: int = 0
    index: list[int] | None = None  # for a narrative: flattened position -> raw position

    def to_converted(self, start: int, end: int) -> tuple[int, int]:
        if self.index is None:
            return self.offset + start, self.offset + end
        inside = [i for i, raw in enumerate(self.index) if start <= raw < end]
        if not inside:
            return self.offset, self.offset
        return self.offset + inside[0], self.offset + inside[-1] + 1


def place_fields(
    document: Any, converted: Any, pointers: list[str], same_shape: bool
) -> dict[str, Placement]:
    """Places each input field in the converted report (see the module docstring)."""
    targets = strings(converted)
    claimed: dict[str, list[tuple[int, int]]] = {}
    placements: dict[str, Placement] = {}
    for pointer in pointers:
        raw = resolve(document, pointer)
        if not isinstance(raw, str):
            placements[pointer] = Placement(None)
            continue
        text, index = flatten_narrative(raw) if pointer.endswith("/div") else (raw, None)
        if same_shape and resolve(converted, pointer) == raw:
            placements[pointer] = Placement(pointer)
            continue
        placements[pointer] = _find(text, index, targets, claimed)
    return placements


def _find(text: str, index: list[int] | None, targets: list[tuple[str, str]],
          claimed: dict[str, list[tuple[int, int]]]) -> Placement:  # fmt: skip
    if not text.strip():
        return Placement(None)
    for target, value in targets:
        if value == text:
            return Placement(target, 0, index)
    pattern = re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)")
    ranked = sorted(targets, key=lambda t: t[0] == "/notes")  # a structured home first
    for target, value in ranked:
        for match in pattern.finditer(value):
            taken = claimed.setdefault(target, [])
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            taken.append(match.span())
            return Placement(target, match.start(), index)
    return Placement(None)


def tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]


def surviving_tokens(before: str, after: str) -> set[int]:
    """Indexes of ``before``'s tokens kept in place in ``after`` (token-level diff)."""
    from difflib import SequenceMatcher

    old = [t for _, _, t in tokens(before)]
    new = [t for _, _, t in tokens(_POOLED_AGE.sub(" pooled-age ", after))]
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    kept: set[int] = set()
    for block in matcher.get_matching_blocks():
        kept.update(range(block.a, block.a + block.size))
    return kept


def countable(label: str, words: list[str]) -> list[int]:
    """Which tokens of a PHI span must go: not neutral words, not masks, not a date's year."""
    picked = [i for i, w in enumerate(words) if (len(w) >= 2 or w.isdigit())
              and w.lower() not in _NEUTRAL and set(w.lower()) != {"x"}]  # fmt: skip
    if label == "DATE":
        without_year = [i for i in picked if not _YEAR.match(words[i])]
        picked = without_year or picked
    return picked or list(range(len(words)))


@dataclass
class Release:
    """What a tool released for one document: the document (None when withheld)."""

    status: str  # ok | quarantined | rejected
    document: Any = None
    extra: list[str] = field(default_factory=list)  # other released text (catalog metadata)
    reason: str | None = None
