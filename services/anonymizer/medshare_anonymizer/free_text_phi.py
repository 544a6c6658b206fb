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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
# A capitalised word (O'Brien, McDonald, Vasquez-Hollis, Villaseñor, Smith's) or an initial.
_NAME_WORD = (
    rf"(?:(?:O'|Mc|Mac|D')?[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}{_LOWER}]?[{_LOWER}]+)*"
    rf"(?![{_UPPER}{_LOWER}\d]|-\d)|[{_UPPER}]\.)"
)
_PARTICLE = r"(?:van|von|der|den|de|del|della|la|le|da|di|du|dos|bin|binti|al|el|ben|ter)"
# Not after "/" or "-": "mmol/L." and "AC-T." end in capitals that are not initials.
_NAME_RUN = re.compile(rf"(?<![\w/-]){_NAME_WORD}(?:(?: {_PARTICLE})* {_NAME_WORD})*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|^\s*[-*•]\s+|\n\s*[-*•]\s+|\d\.\s+)$")
# Words that follow a person's name at the start of a sentence ("Okonkwo reports...").
_PERSON_FOLLOWERS = frozenset(
    _words(
        "is was has had reports reported states stated denies denied presents presented "
        "returns returned agrees agreed declined notes noted complains complained endorses "
        "endorsed underwent tolerated tolerates feels felt says said will would called asked "
        "arrived came lives lived works worked prefers wishes wants understands understood "
        "brought took missed needs needed continues remains completed began started stopped "
        "requested asks expresses verbalizes drove walks uses takes got gets lost gained saw"
    )
)
# Endings of English words, rare at the end of a name: a capitalised unknown word at a
# sentence start without one of these is taken for a name.
_WORD_ENDINGS = (
    "tion", "sion", "ment", "ness", "ity", "ing", "ed", "ogy", "gram", "graphy", "scopy", "ectomy",
    "otomy", "itis", "osis", "emia", "al", "ive", "ous", "ary", "ory", "ic", "ly", "able", "ible",
    "ful", "less", "ance", "ence", "ism", "ist", "ize", "ise", "ure", "age", "ent", "ant", "est",
    "ate", "ide", "ine", "one", "ol", "ase", "cal", "ics", "ia",
)  # fmt: skip
_INITIAL = re.compile(r"[A-ZÀ-ÖØ-Þ]\.")
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


_FACILITY_WORDS = _words(
    "university saint st mount mt general memorial community regional children's county "
    "medical health veterans"
)


def _facilities(text: str) -> Iterator[PhiSpan]:
    """Facility names, without leading common words ("The", "Seen at")."""
    common = p.common_words()
    for match in p.FACILITY.finditer(text):
        start, words = match.start(), match.group().split(" ")
        # Drop a sentence's first words ("Transferred St. Agatha..."), not the name's own.
        while len(words) > 2 and words[0].lower().rstrip(".") in common - _FACILITY_WORDS:
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
    first, last, common, english = (
        p.first_names(),
        p.last_names(),
        p.common_words(),
        p.english_words(),
    )

    def ordinary(bare: str) -> bool:
        # An English word is ordinary unless the name lexicon knows it ("Baker", "Rose");
        # so is a compound of ordinary words ("Fine-needle").
        if bare in common or (bare in english and bare not in first and bare not in last):
            return True
        parts = bare.split("-")
        return len(parts) > 1 and all(part in common or part in english for part in parts)

    for run in _NAME_RUN.finditer(text):
        tokens = [(m.start() + run.start(), m.group()) for m in re.finditer(r"\S+", run.group())]
        segment: list[tuple[int, str]] = []
        for index, (start, word) in enumerate([*tokens, (-1, "")]):
            bare = _bare(word)
            next_bare = _bare(tokens[index + 1][1]) if index + 1 < len(tokens) else ""
            next_is_name = bool(next_bare) and not ordinary(next_bare)
            known_name = bare in first or bare in last
            # Ordinary words join a name only next to a word that is not ordinary
            # ("Mele Okonkwo"); curated clinical words only as lexicon names ("Grace Wood").
            keep = (
                bool(word)
                and bare not in _TITLES
                and (
                    _INITIAL.fullmatch(word) is not None
                    or not ordinary(bare)
                    or (bare not in common and (bool(segment) or next_is_name))
                    or (known_name and (bool(segment) or next_is_name))
                )
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
    words = [word for _, word in segment if not _INITIAL.fullmatch(word)]
    if not words:
        return
    start = segment[0][0]
    end = segment[-1][0] + len(segment[-1][1])
    lexicon = any(_bare(w) in first or _bare(w) in last for w in words)
    if len(words) >= 2 or len(segment) > len(words) or lexicon:
        yield PhiSpan(start, end, "NAME")
        return
    word = words[0]
    # At a sentence start a capitalised word is a name only with more evidence: a
    # possessive, a verb people take ("Okonkwo reports"), "Okonkwo, Thandiwe", a
    # relative clause ("Okonkwo, who..."), or no ending of an English word.
    after = text[end : end + 40]
    if (
        not _is_sentence_start(text, start)
        or word.endswith(("'s", "’s"))
        or _next_word(text, end) in _PERSON_FOLLOWERS
        or re.match(rf",\s*(?:{_NAME_WORD}|who\b|whose\b|whom\b)", after)
        or not (_bare(word).endswith(_WORD_ENDINGS) or len(word) <= 2)  # "Hb", "Na"
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
