"""A case report's own identifiers: always removed from its text, then searched for.

From the structured fields of the source (names and their components, IDs and their
digit runs, phone, e-mail, address parts, city, ZIP, facility, physician, full dates in
many renderings) this builds patterns that match case-insensitively on word
boundaries. The same patterns scrub the notes and, after de-identification, verify
the output: a hit names the JSON path, never the value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from medshare_anonymizer.phi_patterns import common_words
from medshare_anonymizer.safe_harbor import date_renderings
from medshare_shared.case_report import CaseReport

# Parts of names, addresses and facility names that identify nobody.
_GENERIC = frozenset(
    [
        "dr",
        "doctor",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "prof",
        "md",
        "do",
        "rn",
        "np",
        "pa",
        "phd",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
        "facs",
        "street",
        "st",
        "avenue",
        "ave",
        "road",
        "rd",
        "lane",
        "ln",
        "drive",
        "dr",
        "boulevard",
        "blvd",
        "court",
        "ct",
        "way",
        "place",
        "pl",
        "terrace",
        "circle",
        "parkway",
        "highway",
        "hwy",
        "apt",
        "apartment",
        "suite",
        "ste",
        "unit",
        "floor",
        "north",
        "south",
        "east",
        "west",
        "n",
        "s",
        "e",
        "w",
        "general",
        "hospital",
        "medical",
        "center",
        "centre",
        "clinic",
        "health",
        "saint",
        "mount",
        "mt",
        "memorial",
        "regional",
        "community",
        "university",
        "of",
        "the",
        "and",
        "for",
        "children's",
        "county",
        "care",
    ]
)
_SPLIT = re.compile(r"[\s,;^/()]+")
_BOUNDARY_BEFORE = r"(?<![A-Za-z0-9])"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9])"
MIN_ID_LENGTH = 3


@dataclass(frozen=True)
class Needle:
    label: str  # placeholder label (free_text_phi.LABELS)
    identifier_class: str  # Safe Harbor class (safe_harbor.IDENTIFIER_CLASSES)
    pattern: str


def _text_pattern(value: str) -> str:
    words = [re.escape(word) for word in value.split()]
    return _BOUNDARY_BEFORE + r"\s+".join(words) + _BOUNDARY_AFTER


def _digits_pattern(digits: str) -> str:
    """Digits with any separators between them: 2175550142 matches (217) 555-0142."""
    return r"(?<!\d)\(?" + r"[\s().-]*".join(digits) + r"(?!\d)"


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
        if len(word) >= 3 and word.isalpha() and lower not in _GENERIC | common_words():
            yield word


def _id_needles(value: str, identifier_class: str, label: str = "ID") -> Iterator[Needle]:
    value = value.strip()
    if len(value) < MIN_ID_LENGTH:
        return
    yield Needle(label, identifier_class, _text_pattern(value))
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 5:
        yield Needle(label, identifier_class, _digits_pattern(digits))
    for run in re.findall(r"\d{4,}", value):
        yield Needle(label, identifier_class, r"(?<!\d)" + run + r"(?!\d)")


def _phone_needles(value: str, identifier_class: str = "phone") -> Iterator[Needle]:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) >= 7:
        yield Needle("PHONE", identifier_class, _digits_pattern(digits))
        yield Needle("PHONE", identifier_class, _digits_pattern(digits[-7:]))


def _date_needles(value: date) -> Iterator[Needle]:
    for rendering in date_renderings(value):
        yield Needle("DATE", "date", _text_pattern(rendering))


def _person_needles(value: str, identifier_class: str = "name") -> Iterator[Needle]:
    yield Needle("NAME", identifier_class, _text_pattern(value))
    for part in _name_parts(value):
        yield Needle("NAME", identifier_class, _text_pattern(part))


def needles_for(report: CaseReport) -> list[Needle]:
    """Every identifying value of the source report, as patterns."""
    patient = report.patient
    found: list[Needle] = [*_person_needles(patient.name)]
    found += _id_needles(patient.patient_id, "mrn")
    found += _id_needles(patient.medical_record_number or "", "mrn")
    found += _id_needles(patient.ssn or "", "ssn", "SSN")
    found += _id_needles(patient.health_plan_number or "", "health_plan")
    found += _id_needles(report.report_id, "other_id")
    found += _phone_needles(patient.phone or "")
    if patient.email:
        found.append(Needle("EMAIL", "email", _text_pattern(patient.email)))
        local = patient.email.split("@", 1)[0]
        found += [Needle("EMAIL", "email", _text_pattern(local))] if len(local) >= 3 else []
    if patient.address is not None:
        address = patient.address
        for line in address.line:
            found.append(Needle("ADDRESS", "geographic", _text_pattern(line)))
            found += [Needle("ADDRESS", "geographic", _text_pattern(w))
                      for w in _distinctive_words(line)]  # fmt: skip
        if address.city:
            found.append(Needle("LOCATION", "geographic", _text_pattern(address.city)))
        if address.postal_code and len(address.postal_code.strip()) >= 5:
            found.append(Needle("ZIP", "geographic", _text_pattern(address.postal_code.strip())))
            found += _id_needles(address.postal_code.strip()[:5], "geographic", "ZIP")
    if report.facility:
        found.append(Needle("FACILITY", "geographic", _text_pattern(report.facility)))
        found += [Needle("FACILITY", "geographic", _text_pattern(w))
                  for w in _distinctive_words(report.facility)]  # fmt: skip
    if report.physician:
        found += _person_needles(report.physician, "name")
    for when in (patient.birth_date, report.encounter_date):
        found += _date_needles(when) if when else []
    return found


class KnownIdentifiers:
    """Scrubs and finds one report's own identifiers."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        # Longest first, so "Rosalind Quimby" is replaced whole before "Rosalind".
        ordered = sorted(needles, key=lambda n: len(n.pattern), reverse=True)
        self._patterns = [(n, re.compile(n.pattern, re.IGNORECASE)) for n in ordered]
        combined = "|".join(f"(?:{n.pattern})" for n in ordered)
        self._any = re.compile(combined, re.IGNORECASE) if combined else None

    @classmethod
    def of(cls, report: CaseReport) -> KnownIdentifiers:
        return cls(needles_for(report))

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """Replaces every occurrence with its placeholder; counts per Safe Harbor class."""
        counts: Counter[str] = Counter()
        for needle, pattern in self._patterns:
            text, replaced = pattern.subn(f"[{needle.label}]", text)
            counts[needle.identifier_class] += replaced
        return text, +counts

    def occurs_in(self, text: str) -> bool:
        return self._any is not None and self._any.search(text) is not None

    def find_leaks(self, document: Any, path: str = "") -> list[str]:
        """JSON paths of strings (values or keys) in which a source identifier occurs."""
        leaks: list[str] = []
        if isinstance(document, dict):
            for key, value in document.items():
                child = f"{path}.{key}" if path else str(key)
                if self.occurs_in(str(key)):
                    # The key itself is the leak: name where it is, not what it is.
                    leaks.append(f"{path or '$'}.<key>")
                    continue
                leaks += self.find_leaks(value, child)
        elif isinstance(document, list):
            for index, value in enumerate(document):
                leaks += self.find_leaks(value, f"{path}[{index}]")
        elif isinstance(document, str) and self.occurs_in(document):
            leaks.append(path or "$")
        return leaks
