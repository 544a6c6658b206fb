"""Offline detector for PHI in free text, and its redaction into typed placeholders.

Shaped PHI (dates, phone/fax, e-mail, URLs, IPs, SSNs, IDs, street addresses, ZIPs,
facility names, ages over 89) comes from the regular expressions of `patterns`.
Names come from `names` (titles, credentials, labels, relations, scripts without case,
lexicons, capitalisation) and from the statistical model of `ner`. Overlapping
findings are merged, so a span is redacted whole even when two rules each saw part of it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from medshare_anonymizer.case_report import cues, names, ner, signatures
from medshare_anonymizer.case_report import patterns as p
from medshare_anonymizer.case_report.model_windows import model_windows
from medshare_anonymizer.case_report.names import TITLES, bare, words

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
    yield from _cued(text)


def _cued(text: str) -> Iterator[PhiSpan]:
    for pattern in cues.DATES:
        yield from _spans(pattern, text, "DATE")
    for pattern in cues.PHONES:
        for span in _spans(pattern, text, "PHONE"):
            cue = p.FAX_CUE.search(text, max(0, span.start - 24), span.start)
            yield PhiSpan(span.start, span.end, "FAX") if cue else span
    for pattern in cues.AGES:
        yield from _spans(pattern, text, "AGE")
    yield from _spans(cues.LABELLED_ID, text, "ID")
    for pattern in cues.SHAPED_IDS:
        yield from _spans(pattern, text, "ID")
    for pattern in cues.POSTCODES:
        yield from _spans(pattern, text, "ZIP")
    yield from _spans(cues.RURAL_ROUTE, text, "ADDRESS")
    yield from _done_by(text)  # not strong: the allow-list still hears it


def _authored(text: str) -> Iterator[PhiSpan]:
    """Names after a verb of authorship ("grossed by Bull"): people even when words."""
    ordinary, known, stop = _ordinary(), _known_names(), _cue_stop()
    for match in cues.NAME_CUE.finditer(text):
        start = match.end()
        while (end := cues.cued_name(text, start, ordinary, known, stop)) > start:
            yield PhiSpan(start, end, "NAME")
            # "Contact Bishop, Declan or mei-ling small": a list of people
            more = re.match(r"[ \t]*(?:,|;|/|&|\band\b|\bor\b)[ \t]*", text[end:])
            if more is None:
                break
            start = end + more.end()


def _done_by(text: str) -> Iterator[PhiSpan]:
    """Names after any "<verb>ed by"; clinical words and genera end them."""
    ordinary, known, stop = _by_ordinary(), _by_names(), _cue_stop()
    for match in cues.ANY_BY.finditer(text):
        if cues.NOT_BY.search(text, max(0, match.start() - 24), match.start()):
            continue
        end = cues.cued_name(text, match.end(), ordinary, known, stop)
        name = text[match.end() : end]
        # "E. coli", "S. aureus": an initial before a lowercase word is an organism
        if end > match.end() and not re.fullmatch(r"[A-Z]\. ?[a-z]+", name):
            yield PhiSpan(match.end(), end, "NAME")


@cache
def _by_ordinary() -> frozenset[str]:
    return _ordinary() | (ner.clinical_words() - _known_names())


@cache
def _by_names() -> frozenset[str]:
    return _known_names() - p.english_words()  # "by page" is no Mr Page


@cache
def _ordinary() -> frozenset[str]:
    return p.english_words() | p.common_words()


@cache
def _cue_stop() -> frozenset[str]:
    """Words that end a name after a cue: common words, verbs, teams and roles."""
    return p.common_words() | names.PERSON_FOLLOWERS | names.ROLE_WORDS | names.TITLES


@cache
def _known_names() -> frozenset[str]:
    return p.first_names() | p.last_names()


@cache
def _context_words() -> frozenset[str]:
    return _ordinary() - _known_names()


def _modelled(text: str, found: list[PhiSpan]) -> Iterator[PhiSpan]:
    """PERSON and ORG entities of the statistical model that are not clinical language."""
    surnames, context = _known_names(), _context_words()
    windows = model_windows(text, [(s.start, s.end) for s in found])
    if not windows:
        return
    for start, end, label in ner.entities(text, windows):
        if ner.is_clinical(text[start:end], text[end : end + 24], surnames):
            continue
        if any(ch.isdigit() for ch in text[start:end]):  # "Hb 12.1": a lab value, not a person
            continue
        if len(text[start:end].strip(" .")) < 2:  # "F" of "(97yo F)"
            continue
        # A name does not run over a line break ("Ama Lee\nSpecialty Registrar").
        end = start + (text[start:end].find("\n") % (end - start + 1))
        words = list(re.finditer(r"\S+", text[start:end]))
        # "Neighbour Lance Kowalski": a leading common word is context, not the name.
        while len(words) > 1 and bare(words[0].group()) in context:
            words.pop(0)
        # "Huy DOB", "Jose Luis - MRN": a trailing field label or dash is not the name.
        while len(words) > 1 and (_LABEL_WORD.fullmatch(words[-1].group()) or
                                  not any(c.isalpha() for c in words[-1].group())):  # fmt: skip
            words.pop()
        start, end = start + words[0].start(), start + words[-1].end()
        name = text[start:end]
        if len(words) == 1 and bare(name) in context:  # a capitalised English word
            continue
        if label == "PERSON":
            yield PhiSpan(start, end, "NAME")
        elif _is_institution(text[start:end]):
            yield PhiSpan(start, end, "FACILITY")


_LABEL_WORD = re.compile(r"(?:DOB|MRN|SSN|ID|NHS|DOD|DOA|Sex|Age|Date|Tel|Ph|Fax|Acc)\.?:?")


def _is_institution(name: str) -> bool:
    """An ORG that names a place of care ("Baptist Health", "Northwestern Memorial")."""
    words = name.lower().split()
    return len(words) >= 2 and not name.isupper() and bool(_INSTITUTION_WORDS.intersection(words))


_INSTITUTION_WORDS = words(
    "trust nhs foundation royal sanatorium polyclinic hospice "
    "health hospital hospitals clinic clinics medical memorial center centre university "
    "institute infirmary healthcare care hospice baptist methodist presbyterian mercy "
    "general regional children's kaiser permanente mayo practice surgery associates"
)


_FACILITY_WORDS = words(
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
        if words[-1] in _SERVICE_SUFFIXES:  # "Renal Unit", "Vascular Surgery" are services
            named = [w for w in named if bare(w) not in ner.clinical_words()]
        if named:  # "Breast Clinic" names a service, "Larkspur Clinic" a place
            yield PhiSpan(start, match.end(), "FACILITY")
    yield from _spans(p.FOREIGN_FACILITY, text, "FACILITY")


# Suffixes that also end the name of a service, not only of a place.
_SERVICE_SUFFIXES = words(
    "Ward Unit Surgery Oncology Pediatrics Paediatrics Fertility Rehab Centre Center"
)


def _names(text: str) -> tuple[list[PhiSpan], list[PhiSpan]]:
    """Names after a cue (title, credential, label, relation), then the others."""
    found: tuple[list[PhiSpan], list[PhiSpan]] = ([], [])
    rules = (
        names.titled,
        names.labelled,
        names.related,
        signatures.signed,
        signatures.listed,
        signatures.before_role,
        signatures.capitals,
        names.caseless,
        names.capitalised,
    )
    for rule in rules:
        # "Parkinson's disease (father)": a name before a role still meets the allow-list
        cued = rule in (names.titled, names.labelled, names.related, signatures.signed,
                        signatures.listed)  # fmt: skip
        for start, end in rule(text):
            found[0 if cued else 1].append(PhiSpan(*names.extend(text, start, end), "NAME"))
    return found


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


def addresses(text: str) -> Iterator[PhiSpan]:
    """E-mail addresses and URLs only."""
    yield from _spans(p.EMAIL, text, "EMAIL")
    yield from _spans(p.URL, text, "URL")


# A species epithet after a capitalised genus ("Candida albicans", "Listeria
# monocytogenes"): a lowercase Latin word that is not English.
_EPITHET = re.compile(r"\s([a-z]{2,}(?:ii|ae|is|us|um|a|es|ens|ans|ica|ile|ense|oides|i|e))\b")
_NAME_LIKE = frozenset(("NAME", "LOCATION", "FACILITY"))


def _allowed(text: str, span: PhiSpan, cued: bool = False) -> bool:
    """A name-like span that is clinical language or a state or country: it stays.

    After a cue ("her brother bill", "RN: amber patel") a word of the vocabulary is a
    name all the same, unless a clinical head follows ("her mother: Alzheimer's disease").
    """
    phrase = re.sub(r"['’]s?$", "", text[span.start : span.end]).strip()
    if phrase in ner.places():
        return True
    first = phrase.split()[0] if phrase.split() else ""
    if span.label == "FACILITY" or "," in phrase or bare(first) in TITLES:
        return False  # "Dr Love", "Wright, Victoria MD", "Baptist Health" are people and places
    after = text[span.end : span.end + 32]
    if not cued and ner.is_clinical(phrase, after, _known_names()):
        return True
    # A short code before a value is a lab ("ALT 45", "eGFR 38", "Na 134"), not a person.
    lab = re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,5}", phrase)
    value = re.match(r"\s*(?:[:=]|of|was|is)?\s*[<>≤≥]?\s*\d", after)
    # "Trop 45", "Bili 41": a short title-case code too, unless a name lexicon knows it
    short = len(phrase) <= 3 or (len(phrase) <= 5 and phrase.lower() not in _known_names())
    if lab and value and not cued and (not phrase.istitle() or short):
        return True
    head = re.match(r"(?:['’]s?)?\s*([A-Za-z]+)", after)
    if head and head.group(1).lower() in ner.EPONYM_HEADS and " " not in phrase:
        return True  # "Kawasaki disease", "Takotsubo cardiomyopathy", "Meckel's diverticulum"
    binomial = re.fullmatch(r"[A-Z][a-z]+(\s[a-z]+)", phrase)
    if binomial and _EPITHET.fullmatch(binomial.group(1)):
        return binomial.group(1).strip() not in p.english_words()  # "Legionella pneumophila"
    epithet = _EPITHET.match(after)
    return epithet is not None and " " not in phrase and epithet.group(1) not in p.english_words()


def _without_genus(text: str, span: PhiSpan) -> PhiSpan:
    """A name span ending in a microbe's genus ("Prev Serratia marcescens") ends before it."""
    last = re.search(r"(?:^|\s)(\S+)$", text[span.start : span.end])
    if last and bare(last.group(1)) in ner.genera():
        return PhiSpan(span.start, span.start + last.start(), span.label)
    return span


def detect(text: str, model: bool = True) -> list[PhiSpan]:
    """PHI spans in `text`, merged and sorted; existing [LABEL] placeholders are skipped.

    The allow-list (clinical vocabulary, eponyms before a clinical head, organism
    binomials, states and countries) is consulted for every name-like span, whichever
    rule found it. `model=False` leaves the statistical model out (a coded label).
    """
    cued, named = _names(text)
    cued += _authored(text)
    found = [s for s in (*_shaped(text), *cued, *named) if not _inside_placeholder(text, s)]
    if model:
        found += [s for s in _modelled(text, found) if not _inside_placeholder(text, s)]
    # Inside a facility's name ("St. Mary's Medical Center") a word is not vocabulary.
    facilities = [s for s in found if s.label == "FACILITY"]
    strong, kept = set(cued), []
    for s in found:
        if s.label in _NAME_LIKE and not any(f.start <= s.start and s.end <= f.end
                                             for f in facilities):  # fmt: skip
            if _allowed(text, s, s in strong):
                continue
            if s.label == "NAME":  # "Dr Posada Fitzpatrick type IV": the eponym stays
                s = PhiSpan(s.start, names.before_eponym(text, s.start, s.end), "NAME")
                s = _without_genus(text, s)
                if s.end <= s.start:
                    continue
        kept.append(s)
    return merge(kept)


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
