"""A case report's own identifiers: always removed from its text, then searched for.

From the structured fields of the source (names and their components, IDs and their
digit runs, phone, e-mail, address parts, city, ZIP, facility, physician, full dates in
many renderings) this builds literal needles that match case-insensitively on word
boundaries. The same needles scrub the notes and, after de-identification, verify
the output (`verify.case_report`): a hit names the JSON path, never the value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from medshare_anonymizer.case_report.names import words
from medshare_anonymizer.case_report.patterns import common_words
from medshare_anonymizer.case_report.safe_harbor import date_renderings
from medshare_shared.case_report import Address, CaseReport

# Parts of names, addresses and facility names that identify nobody.
_GENERIC = words(
    "dr doctor mr mrs ms miss mx prof md do rn np pa phd jr sr ii iii iv facs street st "
    "avenue ave road rd lane ln drive boulevard blvd court ct way place pl terrace circle "
    "parkway highway hwy apt apartment suite ste unit floor north south east west n s e w "
    "general hospital medical center centre clinic health saint mount mt memorial regional "
    "community university of the and for children's county care "
    # particles of surnames: "la" must not match the state "LA"
    "van von der den de del della la le da di du dos das bin binti al el ben ter y"
)
_PARTICLES = words(
    "van von der den de del della la le da di du dos das bin binti al el ben ter mac"
)
_SPLIT = re.compile(r"[\s,;^/()]+")
_SPACES = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"\w")
_WORD_RUN = re.compile(r"\w+")
# Digits joined by at most three non-word characters: "(217) 555-0142", "2175550142".
_DIGIT_CHAIN = re.compile(r"\d(?:\W{0,3}\d)*")
MIN_ID_LENGTH = 3


@dataclass(frozen=True)
class Needle:
    """One identifying value, matched as a literal (no pattern is compiled per report).

    kind "text": words matched on word boundaries with any whitespace between them,
    case-insensitively unless `case_sensitive`; "digits": the digits in order with up
    to three separators between them (2175550142 matches (217) 555-0142); "run": a
    digit run not inside a longer one.
    """

    label: str  # placeholder label (detector.LABELS)
    identifier_class: str  # Safe Harbor class (safe_harbor.IDENTIFIER_CLASSES)
    value: str
    kind: str = "text"
    # Matched as written ("Li" but not "LI"); other needles match any case.
    case_sensitive: bool = False


def _text(label: str, identifier_class: str, value: str, keep_case: bool = False) -> Needle:
    words = value.split() if keep_case else value.lower().split()
    return Needle(label, identifier_class, " ".join(words), "text", keep_case)


def _name_parts(value: str) -> Iterator[str]:
    for token in _SPLIT.split(value):
        for part in {token, *token.split("-")}:
            part = part.strip(".'\"")
            if len(part) >= 2 and part.lower() not in _GENERIC:
                yield part


def _distinctive_words(value: str) -> Iterator[str]:
    """Words of an address line or facility name that point somewhere specific."""
    for word in _SPLIT.split(value):
        word = word.strip(".,'\"#")
        lower = word.lower()
        if (
            len(word) >= 3
            and word.isalpha()
            and lower not in _GENERIC
            and lower not in common_words()
        ):
            yield word


def _id_needles(value: str, identifier_class: str, label: str = "ID") -> Iterator[Needle]:
    value = value.strip()
    if len(value) < MIN_ID_LENGTH:
        return
    yield _text(label, identifier_class, value)
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 5:
        yield Needle(label, identifier_class, digits, "digits")
    for run in re.findall(r"\d{4,}", value):
        # A year inside a report number ("CR-2015-337446") is not identifying on its own;
        # an SSN's last four may look like a year and still are.
        if identifier_class != "other_id" or not re.fullmatch(r"(?:19|20)\d\d", run):
            yield Needle(label, identifier_class, run, "run")


def _phone_needles(value: str, identifier_class: str = "phone") -> Iterator[Needle]:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) >= 7:
        yield Needle("PHONE", identifier_class, digits, "digits")
        yield Needle("PHONE", identifier_class, digits[-7:], "digits")


def _date_needles(value: date) -> Iterator[Needle]:
    for rendering in date_renderings(value):
        yield _text("DATE", "date", rendering)


def _renderings(value: str) -> set[str]:
    """A name as notes write it: "Last, First" and "First Last" both ways, without middle
    initials, and a family name with its particles as one unit ("dos Santos")."""
    name = " ".join(value.split())
    last, comma, first = name.partition(",")
    words = (f"{first} {last}" if comma else name).split()
    words = [w for w in words if not re.fullmatch(r"\w\.?", w)] or words
    at = next((i for i, w in enumerate(words) if i and w.lower() in _PARTICLES), len(words) - 1)
    given, family = " ".join(words[:at]), " ".join(words[at:])
    forms = {name, " ".join(words), family if " " in family else ""}
    if given:
        forms |= {f"{family}, {given}", f"{family} {given}"}
    return {form for form in forms if form}


def _person_needles(value: str, identifier_class: str = "name") -> Iterator[Needle]:
    for form in _renderings(value):
        yield _text("NAME", identifier_class, form)
    for part in _name_parts(value):
        # A short part ("Li", "Ma") is matched as written: "MA" may be a state.
        short = len(part) <= 3
        yield _text("NAME", identifier_class, part, short)


def _address_needles(address: Address | None) -> list[Needle]:
    found: list[Needle] = []
    if address is None:
        return found
    for line in address.line:
        found.append(_text("ADDRESS", "geographic", line))
        found += [_text("ADDRESS", "geographic", w)
                  for w in _distinctive_words(line)]  # fmt: skip
    if address.city:
        found.append(_text("LOCATION", "geographic", address.city))
    if address.postal_code and len(address.postal_code.strip()) >= 5:
        found.append(_text("ZIP", "geographic", address.postal_code.strip()))
        found += _id_needles(address.postal_code.strip()[:5], "geographic", "ZIP")
    return found


def needles_for(report: CaseReport) -> list[Needle]:
    """Every identifying value of the source report, as needles."""
    patient = report.patient
    found: list[Needle] = [*_person_needles(patient.name)]
    found += _id_needles(patient.patient_id, "mrn")
    found += _id_needles(patient.medical_record_number or "", "mrn")
    found += _id_needles(patient.ssn or "", "ssn", "SSN")
    found += _id_needles(patient.health_plan_number or "", "health_plan")
    found += _id_needles(report.report_id, "other_id")
    found += _phone_needles(patient.phone or "")
    if patient.email:
        found.append(_text("EMAIL", "email", patient.email))
        local = patient.email.split("@", 1)[0]
        found += [_text("EMAIL", "email", local)] if len(local) >= 3 else []
    for contact in patient.contacts:  # relatives: their names recur in the notes
        found += _person_needles(contact.name) if contact.name else []
        found += _phone_needles(contact.phone or "")
        found += [_text("EMAIL", "email", contact.email)] if contact.email else []
        found += _address_needles(contact.address)
    found += _address_needles(patient.address)
    if report.facility:
        found.append(_text("FACILITY", "geographic", report.facility))
        found += [_text("FACILITY", "geographic", w)
                  for w in _distinctive_words(report.facility)]  # fmt: skip
    if report.physician:
        found += _person_needles(report.physician, "name")
    for when in (patient.birth_date, report.encounter_date):
        found += _date_needles(when) if when else []
    return found


def _lowered(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # rare letters whose lowercase is longer
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def _single_spaced(text: str) -> tuple[str, list[int] | None]:
    """`text` with every whitespace run as one space, and where each character came from."""
    if "  " not in text and not any(c.isspace() and c != " " for c in text):
        return text, None
    out, origin, cursor = [], [], 0
    for run in _SPACES.finditer(text):
        out.append(text[cursor : run.start()] + " ")
        origin += [*range(cursor, run.start()), run.start()]
        cursor = run.end()
    out.append(text[cursor:])
    origin += [*range(cursor, len(text) + 1)]  # one past the end maps to the end
    return "".join(out), origin


def _find_all(subject: str, literal: str) -> Iterator[int]:
    at = subject.find(literal)
    while at >= 0:
        yield at
        at = subject.find(literal, at + 1)


def _is_word(text: str, index: int) -> bool:
    return 0 <= index < len(text) and _WORD_CHAR.match(text[index]) is not None


def _is_digit(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isdigit()


class KnownIdentifiers:
    """Scrubs and finds one report's own identifiers (literal search, nothing compiled)."""

    def __init__(self, needles: list[Needle]) -> None:
        unique = {(n.value, n.kind, n.case_sensitive): n for n in needles if n.value}
        self.needles = sorted(unique.values(), key=lambda n: len(n.value), reverse=True)
        self._texts = [n for n in self.needles if n.kind == "text"]
        # A match starts a word, so its first word must be one of the text's words: the
        # needles are indexed by it and only those of words present are searched for.
        self._by_word: dict[str | None, list[Needle]] = {}
        for needle in self._texts:
            first = _WORD_RUN.match(needle.value)
            self._by_word.setdefault(first.group() if first else None, []).append(needle)
        self._digits = [n for n in self.needles if n.kind == "digits"]
        self._runs = [n for n in self.needles if n.kind == "run"]

    @classmethod
    def of(cls, report: CaseReport) -> KnownIdentifiers:
        return cls(needles_for(report))

    def _text_matches(self, text: str) -> Iterator[tuple[int, int, Needle]]:
        exact, origin = _single_spaced(text)
        folded = _lowered(exact)
        present = {*_WORD_RUN.findall(folded), *_WORD_RUN.findall(exact), None}
        candidates = [n for w in present & self._by_word.keys() for n in self._by_word[w]]
        for needle in sorted(candidates, key=lambda n: len(n.value), reverse=True):
            subject = exact if needle.case_sensitive else folded
            for at in _find_all(subject, needle.value):
                end = at + len(needle.value)
                if _is_word(subject, at - 1) or _is_word(subject, end):
                    continue
                if origin is None:
                    yield at, end, needle
                else:
                    yield origin[at], origin[end - 1] + 1, needle

    def _digit_matches(self, text: str) -> Iterator[tuple[int, int, Needle]]:
        for needle in self._runs:
            for at in _find_all(text, needle.value):
                end = at + len(needle.value)
                if not (_is_digit(text, at - 1) or _is_digit(text, end)):
                    yield at, end, needle
        if not self._digits:
            return
        for chain in _DIGIT_CHAIN.finditer(text):
            where = [chain.start() + i for i, c in enumerate(chain.group()) if c.isdigit()]
            digits = "".join(text[i] for i in where)
            for needle in self._digits:
                for at in _find_all(digits, needle.value):
                    last = at + len(needle.value) - 1
                    # Not inside a longer number: the neighbouring digits are set apart.
                    if at > 0 and where[at - 1] == where[at] - 1:
                        continue
                    if last + 1 < len(where) and where[last + 1] == where[last] + 1:
                        continue
                    start = where[at] - (where[at] > 0 and text[where[at] - 1] == "(")
                    yield start, where[last] + 1, needle

    def matches(self, text: str) -> list[tuple[int, int, Needle]]:
        """(start, end, needle) of every occurrence; overlapping ones merged."""
        found = [*self._text_matches(text), *self._digit_matches(text)]
        found.sort(key=lambda item: (item[0], -item[1]))
        kept: list[tuple[int, int, Needle]] = []
        for start, end, needle in found:
            if kept and start < kept[-1][1]:  # overlapping values are removed as one
                top = kept[-1]
                kept[-1] = (top[0], max(top[1], end), top[2])
            elif end > start:
                kept.append((start, end, needle))
        return kept

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """Replaces every occurrence with its placeholder; counts per Safe Harbor class."""
        counts: Counter[str] = Counter()
        pieces, cursor = [], 0
        for start, end, needle in self.matches(text):
            pieces += [text[cursor:start], f"[{needle.label}]"]
            counts[needle.identifier_class] += 1
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces), +counts

    def occurs_in(self, text: str) -> bool:
        return bool(self.matches(text))
