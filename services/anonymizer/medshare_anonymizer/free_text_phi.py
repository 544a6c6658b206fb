"""Offline detector for PHI in free text, and its redaction into typed placeholders.

Shaped PHI (dates, phone/fax, e-mail, URLs, IPs, SSNs, IDs, street addresses, ZIPs,
facility names, ages over 89) comes from the regular expressions of `phi_patterns`.
Names come from three kinds of evidence: a title or credential ("Dr. X", "X, MD"),
the name lexicons, and capitalisation (capitalised words that are not sentence
starters, clinical terms or other common words, see data/common_words.txt), so that
names the lexicon has never seen are still found. Overlapping findings are merged,
so a span is redacted whole even when two rules each saw part of it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from medshare_anonymizer import phi_patterns as p

LABELS = ("NAME", "DATE", "PHONE", "FAX", "EMAIL", "URL", "IP", "SSN", "ID", "ADDRESS",
          "ZIP", "LOCATION", "FACILITY", "AGE")  # fmt: skip
# Which Safe Harbor class (safe_harbor.IDENTIFIER_CLASSES) a placeholder stands for.
LABEL_CLASS = {"NAME": "name", "DATE": "date", "PHONE": "phone", "FAX": "fax", "EMAIL": "email",
               "URL": "url", "IP": "ip", "SSN": "ssn", "ID": "other_id", "ADDRESS": "geographic",
               "ZIP": "geographic", "LOCATION": "geographic", "FACILITY": "geographic",
               "AGE": "date"}  # fmt: skip
# When merged spans disagree, the more specific label names the placeholder.
_PRIORITY = {label: rank for rank, label in enumerate(
    ("EMAIL", "URL", "IP", "SSN", "FAX", "PHONE", "DATE", "AGE", "ADDRESS", "ZIP", "FACILITY",
     "ID", "LOCATION", "NAME"))}  # fmt: skip
PLACEHOLDER = re.compile(r"\[(?:" + "|".join(LABELS) + r")\]")

_NAME_WORD = r"(?:(?:O'|Mc|Mac|D')?[A-Z][a-z]+(?:[-'’][A-Za-z]?[a-z]+)*|[A-Z]\.)"
_PARTICLE = r"(?:van|von|der|den|de|del|della|la|le|da|di|du|dos|bin|binti|al|el|ben|ter)"
_NAME_RUN = re.compile(rf"{_NAME_WORD}(?:(?: {_PARTICLE})* {_NAME_WORD})*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|^\s*[-*•]\s+|\n\s*[-*•]\s+|\d\.\s+)$")
# Words that follow a person's name at the start of a sentence ("Okonkwo reports...").
_PERSON_FOLLOWERS = frozenset(
    [
        "is",
        "was",
        "has",
        "had",
        "reports",
        "reported",
        "states",
        "stated",
        "denies",
        "denied",
        "presents",
        "presented",
        "returns",
        "returned",
        "agrees",
        "agreed",
        "declined",
        "notes",
        "noted",
        "complains",
        "complained",
        "endorses",
        "endorsed",
        "underwent",
        "tolerated",
        "tolerates",
        "feels",
        "felt",
        "says",
        "said",
        "will",
        "would",
        "called",
        "asked",
        "arrived",
        "came",
        "lives",
        "lived",
        "works",
        "worked",
        "prefers",
        "wishes",
        "wants",
        "understands",
        "understood",
    ]
)
_TITLES = frozenset(
    [
        "dr",
        "doctor",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "prof",
        "professor",
        "nurse",
        "rev",
        "sr",
        "fr",
    ]
)


@dataclass(frozen=True, order=True)
class PhiSpan:
    start: int
    end: int
    label: str


def _spans(pattern: re.Pattern[str], text: str, label: str) -> Iterator[PhiSpan]:
    for match in pattern.finditer(text):
        group = match.groupdict().get("phi")
        start, end = match.span("phi") if group is not None else match.span()
        if end > start:
            yield PhiSpan(start, end, label)


def _shaped(text: str) -> Iterator[PhiSpan]:
    for pattern in p.DATE_PATTERNS:
        yield from _spans(pattern, text, "DATE")
    yield from _spans(p.MONTH_ALONE, text, "DATE")
    yield from _spans(p.EMAIL, text, "EMAIL")
    yield from _spans(p.URL, text, "URL")
    yield from _spans(p.IPV4, text, "IP")
    yield from _spans(p.IPV6, text, "IP")
    yield from _spans(p.SSN, text, "SSN")
    for span in _spans(p.PHONE, text, "PHONE"):
        cue = p.FAX_CUE.search(text, max(0, span.start - 24), span.start)
        yield PhiSpan(span.start, span.end, "FAX") if cue else span
    yield from _spans(p.LABELLED_ID, text, "ID")
    yield from _spans(p.SHAPED_ID, text, "ID")
    yield from _spans(p.STREET, text, "ADDRESS")
    cities = p.city_pattern()
    for match in p.CITY_STATE.finditer(text):
        # "Kwabena Asante, MD" is a physician: MD and PA are credentials as often as states.
        credential = match.group(2) in ("MD", "PA")
        if credential and not cities.fullmatch(match.group(1)):
            continue
        yield PhiSpan(*match.span(1), "LOCATION")
        if match.group(3):
            yield PhiSpan(*match.span(3), "ZIP")
    yield from _spans(p.ZIP, text, "ZIP")
    yield from _spans(p.COUNTY, text, "LOCATION")
    yield from _spans(cities, text, "LOCATION")
    yield from _facilities(text)
    yield from _spans(p.AGE_OVER_89, text, "AGE")


def _facilities(text: str) -> Iterator[PhiSpan]:
    """Facility names, without leading common words ("The", "Seen at")."""
    common = p.common_words()
    for match in p.FACILITY.finditer(text):
        start, words = match.start(), match.group().split(" ")
        while len(words) > 2 and words[0].lower().rstrip(".") in common:
            start += len(words[0]) + 1
            words = words[1:]
        named = [w for w in words if w.lower().strip(".'s") not in common]
        if named:  # "Breast Clinic" names a service, "Larkspur Clinic" a place
            yield PhiSpan(start, match.end(), "FACILITY")


def _is_sentence_start(text: str, start: int) -> bool:
    return bool(_SENTENCE_START.search(text[max(0, start - 6) : start]))


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word).rstrip(".").lower()


def _next_word(text: str, end: int) -> str:
    match = re.match(r"\s*([A-Za-z']+)", text[end:])
    return match.group(1).lower() if match else ""


def _names(text: str) -> Iterator[PhiSpan]:
    yield from _spans(p.TITLE, text, "NAME")
    yield from _spans(p.CREDENTIAL, text, "NAME")
    yield from _spans(p.LABELLED_NAME, text, "NAME")
    first, last, common = p.first_names(), p.last_names(), p.common_words()
    for run in _NAME_RUN.finditer(text):
        tokens = [(m.start() + run.start(), m.group()) for m in re.finditer(r"\S+", run.group())]
        segment: list[tuple[int, str]] = []
        for index, (start, word) in enumerate([*tokens, (-1, "")]):
            bare = _bare(word)
            known_name = bare in first or bare in last
            next_is_name = index + 1 < len(tokens) and _bare(tokens[index + 1][1]) not in common
            # A common word joins a name only as a lexicon name next to another name word.
            keep = (
                bool(word)
                and bare not in _TITLES
                and (bare not in common or (known_name and (bool(segment) or next_is_name)))
            )
            if keep:
                segment.append((start, word))
                continue
            if segment:
                yield from _judge_segment(text, segment, first, last)
            segment = []


def _judge_segment(
    text: str, segment: list[tuple[int, str]], first: frozenset[str], last: frozenset[str]
) -> Iterator[PhiSpan]:
    words = [word for _, word in segment if not re.fullmatch(r"[A-Z]\.", word)]
    if not words:
        return
    start = segment[0][0]
    end = segment[-1][0] + len(segment[-1][1])
    if len(segment) >= 2 or any(_bare(w) in first or _bare(w) in last for w in words):
        yield PhiSpan(start, end, "NAME")
        return
    word = words[0]
    # At a sentence start a capitalised word is a name only with more evidence: a
    # possessive, a verb people take ("Okonkwo reports"), or "Okonkwo, Thandiwe".
    if (
        not _is_sentence_start(text, start)
        or word.endswith(("'s", "’s"))
        or _next_word(text, end) in _PERSON_FOLLOWERS
        or re.match(rf",\s*{_NAME_WORD}", text[end:])
    ):
        yield PhiSpan(start, end, "NAME")


def _inside_placeholder(text: str, span: PhiSpan) -> bool:
    nearby = PLACEHOLDER.finditer(text, max(0, span.start - 12), span.end + 12)
    return any(m.start() <= span.start and span.end <= m.end() for m in nearby)


def merge(spans: Iterable[PhiSpan]) -> list[PhiSpan]:
    """Overlapping spans become one; its label is the most specific of the parts."""
    merged: list[PhiSpan] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            top = merged[-1]
            label = min(top.label, span.label, key=lambda label: _PRIORITY[label])
            merged[-1] = PhiSpan(top.start, max(top.end, span.end), label)
        else:
            merged.append(span)
    return merged


def detect(text: str) -> list[PhiSpan]:
    """PHI spans in `text`, merged and sorted; existing [LABEL] placeholders are skipped."""
    found = [s for s in (*_shaped(text), *_names(text)) if not _inside_placeholder(text, s)]
    return merge(found)


def replacement(label: str) -> str:
    # An age over 89 stays an age, pooled: "a 93-year-old" becomes "a 90+-year-old".
    return "90+" if label == "AGE" else f"[{label}]"


def redact(text: str, spans: Iterable[PhiSpan]) -> tuple[str, Counter[str]]:
    """Text with each span replaced by its placeholder, and counts per label."""
    counts: Counter[str] = Counter()
    pieces, cursor = [], 0
    for span in merge(spans):
        pieces += [text[cursor : span.start], replacement(span.label)]
        counts[span.label] += 1
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), counts


def scrub(text: str) -> tuple[str, Counter[str]]:
    """Detect and redact in one step."""
    return redact(text, detect(text))
