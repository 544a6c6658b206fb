"""Independent check that no identifying value of the source survives in the output.

Collects, from the source, the values of every attribute the profile removes or
replaces (names split into tokens, IDs, dates in several renderings, UIDs, addresses,
institution, free-text comments), then scans every element of the output, nested and
private included, for them. Findings are attribute paths, never the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from medshare_anonymizer.dicom_profile import ActionTable, action_table

WELL_KNOWN_UID_ROOT = "1.2.840.10008."
# Bulk binary data is not text: random byte runs would match short tokens.
BULK_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0xFFFAFFFA, 0xFFFCFFFC})
# Values medshare writes itself: never evidence of a leak.
INSERTED_VALUES = frozenset({"ANONYMIZED", "ANONYMOUS", "19000101", "YES", "NO"})

# IS/DS are measurements, not identifiers: as needles they would match other numbers.
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE", "UR"})
_ID_WORDS = ("ID", "Number", "Address", "Telephone", "Institution", "Station", "Location")
_SPLIT_NAME = re.compile(r"[\^=\s,]+")
_DIGITS = re.compile(r"\d")
_REMOVING_ACTIONS = frozenset({"X", "Z", "D", "U", "C"})


@dataclass(frozen=True)
class PhiNeedles:
    """Compiled patterns for the source's identifying values."""

    count: int
    text_pattern: re.Pattern[str] | None
    bytes_pattern: re.Pattern[bytes] | None

    def scrub(self, text: str) -> str:
        """Removes every needle from free text (the C action for descriptors)."""
        if self.text_pattern is None:
            return text
        return " ".join(self.text_pattern.sub(" ", text).split())


def _is_overlay_or_curve_data(tag: int) -> bool:
    group, element = tag >> 16, tag & 0xFFFF
    return (0x6000 <= group <= 0x60FF and element == 0x3000) or 0x5000 <= group <= 0x50FF


def element_path(prefix: str, tag: int) -> str:
    keyword = keyword_for_tag(tag) if not (tag >> 16) & 1 else ""
    name = keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{prefix}.{name}" if prefix else name


def _vr_of(elem: DataElement | RawDataElement) -> str:
    vr = elem.VR
    if vr:
        return str(vr)
    try:
        return str(dictionary_VR(elem.tag))
    except KeyError:
        return "UN"


def date_renderings(date: str) -> list[str]:
    """A DA value as it may appear elsewhere (DICOM, ISO, US, European forms)."""
    if len(date) < 8 or not date[:8].isdigit():
        return []
    y, m, d = date[:4], date[4:6], date[6:8]
    return [y + m + d, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{m}/{d}/{y}", f"{d}/{m}/{y}",
            f"{d}.{m}.{y}", f"{m}-{d}-{y}", f"{d}-{m}-{y}"]  # fmt: skip


def _values(value: object) -> list[str]:
    if value is None:
        return []
    # PersonName and other value objects are iterable too: only real lists are lists.
    items: list[object] = list(value) if isinstance(value, list | tuple | MultiValue) else [value]
    return [
        item.decode("latin-1") if isinstance(item, bytes) else str(item)
        for item in items
        if item is not None
    ]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _needles_of(keyword: str, vr: str, value: object, private: bool) -> list[tuple[str, bool]]:
    """(needle, whole-word) pairs for one source value."""
    found: list[tuple[str, bool]] = []
    for text in _values(value):
        text = text.strip().strip("\x00")
        if not text or text.upper() in INSERTED_VALUES:
            continue
        if vr == "PN":
            for token in _SPLIT_NAME.split(text):
                if len(token) >= 3 and not (token.isdigit() and len(token) < 4):
                    found.append((token, True))
        elif vr == "DA":
            found.extend((r, True) for r in date_renderings(text))
        elif vr == "DT":
            found.extend((r, True) for r in date_renderings(text[:8]))
        elif vr == "UI":
            if not text.startswith(WELL_KNOWN_UID_ROOT) and len(text) >= 8:
                found.append((text, True))
        elif vr in _TEXT_VRS and len(text) >= 4:
            id_like = len(_DIGITS.findall(text)) >= 5
            if private:
                if id_like and not _is_number(text):
                    found.append((text, True))
            elif id_like or any(word in keyword for word in _ID_WORDS) or "Comment" in keyword:
                found.append((text, True))
            elif vr in ("LT", "ST", "UT") and len(text) >= 8:
                found.append((text, False))
    return found


def _walk_source(ds: Dataset, table: ActionTable, out: set[tuple[str, bool]]) -> None:
    for tag in list(ds.keys()):  # Dataset iteration would convert every element
        action = table.action_for(tag)
        elem = ds.get_item(tag)
        if elem is None:
            continue
        vr = _vr_of(elem)
        if vr == "SQ":
            for item in ds[tag].value:
                _walk_source(item, table, out)
            continue
        if action not in _REMOVING_ACTIONS or tag in BULK_TAGS:
            continue
        if action == "C" and vr not in ("DA", "DT"):
            continue  # cleaned text keeps its non-identifying words by design
        private = bool((tag >> 16) & 1)
        keyword = "" if private else (keyword_for_tag(tag) or "")
        out.update(_needles_of(keyword, vr, ds[tag].value, private))


def _compile(needles: set[tuple[str, bool]]) -> PhiNeedles:
    if not needles:
        return PhiNeedles(0, None, None)
    # Longest first so the alternation prefers whole values over their tokens.
    ordered = sorted(needles, key=lambda n: (-len(n[0]), n[0]))
    parts = [
        rf"(?<![A-Za-z0-9_]){re.escape(text)}(?![A-Za-z0-9_])" if whole else re.escape(text)
        for text, whole in ordered
    ]
    text_pattern = re.compile("|".join(parts), re.IGNORECASE)
    bytes_pattern = re.compile("|".join(parts).encode("utf-8"), re.IGNORECASE)
    return PhiNeedles(len(ordered), text_pattern, bytes_pattern)


def collect_needles(source: Dataset, table: ActionTable) -> PhiNeedles:
    out: set[tuple[str, bool]] = set()
    _walk_source(source, table, out)
    return _compile(out)


def _scan_elements(ds: Dataset, prefix: str) -> Iterator[tuple[str, bytes]]:
    for tag in list(ds.keys()):  # Dataset iteration would convert every element
        if tag in BULK_TAGS or _is_overlay_or_curve_data(tag):
            continue
        elem = ds.get_item(tag)
        if elem is None:
            continue
        path = element_path(prefix, tag)
        if _vr_of(elem) == "SQ":
            for index, item in enumerate(ds[tag].value):
                yield from _scan_elements(item, f"{path}[{index}]")
            continue
        if isinstance(elem, RawDataElement):
            raw = elem.value or b""
            if _vr_of(elem) == "UI" and raw.startswith(WELL_KNOWN_UID_ROOT.encode()):
                continue
            yield path, raw
            continue
        values = _values(elem.value)
        if elem.VR == "UI":
            values = [v for v in values if not v.startswith(WELL_KNOWN_UID_ROOT)]
        if values:
            yield path, "\\".join(values).encode("utf-8", "replace")


def find_leaks(output: Dataset, needles: PhiNeedles) -> list[str]:
    """Paths of output elements holding any needle (file meta included)."""
    pattern = needles.bytes_pattern
    if pattern is None:
        return []
    findings = []
    meta = getattr(output, "file_meta", None)
    sources = [(meta, "file_meta")] if meta is not None else []
    for ds, prefix in [*sources, (output, "")]:
        for path, raw in _scan_elements(ds, prefix):
            if pattern.search(raw):
                findings.append(path)
    return findings


def verify(
    source: Dataset,
    output: Dataset,
    options: frozenset[str] = frozenset(),
    table: ActionTable | None = None,
) -> list[str]:
    """Attribute paths in ``output`` that still hold identifying values of ``source``."""
    return find_leaks(output, collect_needles(source, table or action_table(options)))
