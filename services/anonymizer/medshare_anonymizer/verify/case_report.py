"""Independent check that no identifier of the source case report survives in the output.

Searches the strings of the released document and its catalog metadata, keys included,
for the report's own identifiers (`case_report.known_identifiers`, the same patterns
that scrubbed the notes). Text the anonymizer wrote itself is not scanned: the fields it
computes (pseudonym, surrogate report number, shifted dates, ZIP3, age, the method
record, the catalog's summary) and, inside released text, its placeholders. Needles
match whole tokens only. Findings are JSON paths, never the values.
"""

from __future__ import annotations

import re
from typing import Any

from medshare_anonymizer.case_report.known_identifiers import KnownIdentifiers

# Fields whose values the anonymizer computes (never copied from the source).
GENERATED = frozenset(
    {
        "document.report_id",
        "document.encounter_date",
        "document.encounter_year",
        "document.deidentification",
        "document.patient.pseudonym",
        "document.patient.age",
        "document.patient.birth_date",
        "document.patient.birth_year",
        "document.patient.zip3",
        "document.patient.state",
        "metadata",
    }
)
# Typed placeholders and the pooled age the detector writes into free text.
_WRITTEN = re.compile(r"\[[A-Z_]+\]|\b90\+")


def find_leaks(known: KnownIdentifiers, document: Any, path: str = "") -> list[str]:
    """JSON paths of strings (values or keys) in which a source identifier occurs."""
    if path in GENERATED:
        return []
    leaks: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            child = f"{path}.{key}" if path else str(key)
            if child not in GENERATED and known.occurs_in(str(key)):
                # The key itself is the leak: name where it is, not what it is.
                leaks.append(f"{path or '$'}.<key>")
                continue
            leaks += find_leaks(known, value, child)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            leaks += find_leaks(known, value, f"{path}[{index}]")
    elif isinstance(document, str) and known.occurs_in(_WRITTEN.sub(" ", document)):
        leaks.append(path or "$")
    return leaks
