"""Where in a text the statistical model is worth running.

The model costs per token read, and most of a note holds no word it could call a name:
words inside spans the rules found, English words standing alone (the detector drops a
lone English word the model tags), clinical words and capital abbreviations. What is
left, with a few words of context either side, is all the model reads.
"""

from __future__ import annotations

import re
from functools import cache

from medshare_anonymizer.case_report import ner
from medshare_anonymizer.case_report import patterns as p
from medshare_anonymizer.case_report.names import bare


@cache
def _known_names() -> frozenset[str]:
    return p.first_names() | p.last_names()


@cache
def _context_words() -> frozenset[str]:
    return (p.english_words() | p.common_words()) - _known_names()


_CAPITALISED = re.compile(r"(?<![\w'’-])[^\W\d_a-z][\w'’-]*")  # not lowercase first


def model_windows(text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Stretches of `text` around the capitalised words the rules left unexplained.

    Only there can the model add a name: a word inside a span already found, an English
    word alone (dropped in `_modelled`), clinical words and short capital abbreviations
    ("WBC", "ICU") are explained. Six words either side, on the same line, give the model
    its context; the model costs per token read.
    """
    context, plain, known = _context_words(), _plain_clinical(), _known_names()
    covered = sorted(covered)
    windows: list[tuple[int, int]] = []
    for match in _CAPITALISED.finditer(text):
        word = bare(match.group())
        if word in plain and word not in context:
            continue
        if match.group().isupper() and len(word) <= 4 and word not in known:
            continue
        if any(a <= match.start() and match.end() <= b for a, b in covered):
            continue
        if word in context and not _beside(text, match, covered):
            continue  # an English word, unless it stands beside a name ("Ptolemy al-Rashid")
        start, end = _around(text, match.start(), match.end())
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def _beside(text: str, match: re.Match[str], covered: list[tuple[int, int]]) -> bool:
    """The word is one space away from a span already found."""
    return any(b == match.start() - 1 or a == match.end() + 1 for a, b in covered) and (
        " " in (text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1])
    )


_TOKEN = re.compile(r"\S+")


def _around(text: str, start: int, end: int) -> tuple[int, int]:
    """Six words either side of [start, end), on its line."""
    low = max(text.rfind("\n", 0, start) + 1, start - 100)
    high = text.find("\n", end)
    high = min(len(text) if high < 0 else high, end + 100)
    before = [m.start() for m in _TOKEN.finditer(text, low, start)][-6:]
    after = [m.end() for m in _TOKEN.finditer(text, end, high)][:6]
    return (before[0] if before else start), (after[-1] if after else end)


@cache
def _plain_clinical() -> frozenset[str]:
    return ner.clinical_words() - _known_names()
