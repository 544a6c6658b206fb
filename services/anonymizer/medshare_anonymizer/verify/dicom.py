"""Independent check that no identifying value of the source survives in the output.

Collects, from the source, the values of every attribute the profile removes or
replaces (names split into tokens, IDs, dates in several renderings, UIDs, addresses,
institution, free-text comments), then parses the output file again and scans every
element, file meta, nested and private included, for them. Findings are attribute
paths, never the values.

Needles are the source's own bytes, so they match the output in its character set;
case is ignored for ASCII letters. Precision rules, so that correct outputs pass:

* what the anonymizer writes itself (the De-identification Method attributes, dummies)
  is not scanned;
* coded and descriptive attributes (CS values, code items, Manufacturer...) hold a
  leak when a value equals a whole identifying value, or contains a needle that is not
  an English word: "Test" is no leak in a coding scheme "TEST", an institution "Here"
  none in a Manufacturer "... name here"; a multi-valued CS (ImageType's defined terms,
  where a patient called "Perfusion" meets "PERFUSION") only by whole values;
* a value that the chosen options retain (K), at any depth, is not a needle;
* under retain-long-modified-dates a date equal to a source date plus the patient's
  own shift is the shifted date, not a source date.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from functools import cache

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from medshare_anonymizer.case_report.patterns import english_words
from medshare_anonymizer.dicom.actions import SINGLE_VALUE_VRS
from medshare_anonymizer.dicom.dates import shift_da
from medshare_anonymizer.dicom.deid_method import (
    BURNED_IN_ANNOTATION,
    DEIDENTIFICATION_METHOD,
    DEIDENTIFICATION_METHOD_CODES,
    LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
    PATIENT_IDENTITY_REMOVED,
    RECOGNIZABLE_VISUAL_FEATURES,
)
from medshare_anonymizer.dicom.part10 import Element, Part10, parse_part10, read_part10, tag_text
from medshare_anonymizer.dicom.profile import ActionTable, action_table
from medshare_anonymizer.dicom.uids import WELL_KNOWN_UID_ROOT

# Bulk binary data is not text: random byte runs would match short tokens.
BULK_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0xFFFAFFFA, 0xFFFCFFFC})
# Values medshare writes itself: never evidence of a leak.
INSERTED_VALUES = frozenset({b"ANONYMIZED", b"ANONYMOUS", b"19000101", b"YES", b"NO"})
# Attributes medshare writes itself (the method record): not scanned.
WRITTEN_TAGS = frozenset({PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD,
                          DEIDENTIFICATION_METHOD_CODES, BURNED_IN_ANNOTATION,
                          RECOGNIZABLE_VISUAL_FEATURES,
                          LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED})  # fmt: skip
# Coded and descriptive attributes: vocabulary, not free text (see the module doc).
CODED_KEYWORDS = frozenset({"CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion",
                            "CodeMeaning", "LongCodeValue", "URNCodeValue", "Manufacturer",
                            "ManufacturerModelName", "SoftwareVersions"})  # fmt: skip

# IS/DS are measurements, not identifiers: as needles they would match other numbers.
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE", "UR"})
_ID_WORDS = ("ID", "Number", "Address", "Telephone", "Institution", "Station", "Location")
_SPLIT_NAME = re.compile(rb"[\^=\s,]+")
_DIGIT = re.compile(rb"\d")
_UID_SHAPE = re.compile(rb"[0-9]+(?:\.[0-9]+)+")
_REMOVING_ACTIONS = frozenset({"X", "Z", "D", "U", "C"})
_WELL_KNOWN = WELL_KNOWN_UID_ROOT.encode()


class PhiNeedles:
    """The source's identifying values: (needle, whole-word) pairs.

    Searching needs no pattern: each needle is looked for as a case-folded
    substring (C speed), and a whole-word needle's hits are then checked for word
    characters on either side. Scrubbing uses one word-bounded pattern, compiled
    on first use.
    """

    def __init__(
        self, needles: set[tuple[bytes, bool]], values: frozenset[bytes] = frozenset()
    ) -> None:
        # Longest first so the alternation prefers whole values over their tokens.
        self.needles = sorted(needles, key=lambda n: (-len(n[0]), n[0]))
        self.values = frozenset(value.lower() for value in values)  # whole source values
        self.count = len(self.needles)
        self._coded: PhiNeedles | None = None
        self._folded = [(text.lower(), whole) for text, whole in self.needles]
        self._pattern: re.Pattern[bytes] | None = None

    @property
    def coded(self) -> PhiNeedles:
        """The needles for coded attributes: without name parts that are English words."""
        if self._coded is None:
            words = english_words()
            kept = {
                (text, whole)
                for text, whole in self.needles
                if text.lower().decode("latin-1") not in words
            }
            self._coded = PhiNeedles(kept, self.values)
        return self._coded

    @property
    def pattern(self) -> re.Pattern[bytes]:
        if self._pattern is None:
            parts = [
                rb"(?<![A-Za-z0-9_])" + re.escape(text) + rb"(?![A-Za-z0-9_])"
                if whole
                else re.escape(text)
                for text, whole in self.needles
            ]
            self._pattern = re.compile(b"|".join(parts) or b"(?!)", re.IGNORECASE)
        return self._pattern

    def may_occur_in(self, text: bytes) -> bool:
        """False when no needle occurs in ``text`` even as a substring."""
        folded = text.lower()
        return any(needle in folded for needle, _ in self._folded)

    def search(self, text: bytes) -> bool:
        """True when a needle occurs in ``text`` (as a whole word where it must)."""
        folded = text.lower()
        return any(_occurs(folded, needle, whole) for needle, whole in self._folded)

    def in_coded(self, raw: bytes, vr: str) -> bool:
        """A leak in a coded attribute's value (see the module doc)."""
        values = raw.split(b"\\")
        if any(value.strip(b" \x00").lower() in self.values for value in values):
            return True  # a whole identifying value, verbatim
        return not (vr == "CS" and len(values) > 1) and self.coded.search(raw)

    def scrub(self, text: bytes) -> bytes:
        """Removes every needle from free text (the C action for descriptors)."""
        if not self.may_occur_in(text):
            return text
        return b" ".join(self.pattern.sub(b" ", text).split())


_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _occurs(folded: bytes, needle: bytes, whole: bool) -> bool:
    """``needle`` in ``folded``; for a whole-word needle, not inside a longer word."""
    start = folded.find(needle)
    while start != -1:
        end = start + len(needle)
        if not whole or (
            (start == 0 or folded[start - 1] not in _WORD_BYTES)
            and (end == len(folded) or folded[end] not in _WORD_BYTES)
        ):
            return True
        start = folded.find(needle, start + 1)
    return False


@cache
def keyword_of(tag: int) -> str:
    return "" if (tag >> 16) & 1 else (keyword_for_tag(tag) or "")


def element_path(prefix: str, tag: int) -> str:
    name = keyword_of(tag) or tag_text(tag)
    return f"{prefix}.{name}" if prefix else name


def _is_bulk(tag: int) -> bool:
    group = tag >> 16
    if tag in BULK_TAGS or 0x5000 <= group <= 0x50FF:
        return True
    return 0x6000 <= group <= 0x60FF and tag & 0xFFFF == 0x3000


def date_renderings(date: str) -> list[str]:
    """A DA value as it may appear elsewhere (DICOM, ISO, US, European forms)."""
    if len(date) < 8 or not date[:8].isdigit():
        return []
    y, m, d = date[:4], date[4:6], date[6:8]
    return [y + m + d, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{m}/{d}/{y}", f"{d}/{m}/{y}",
            f"{d}.{m}.{y}", f"{m}-{d}-{y}", f"{d}-{m}-{y}"]  # fmt: skip


def _is_number(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _needles_of(
    keyword: str, vr: str, raw: bytes, private: bool, whole_values: set[bytes]
) -> list[tuple[bytes, bool]]:
    """(needle, whole-word) pairs for one source value.

    Identifying whole values (a full name, an ID, not a name's parts) also go to
    ``whole_values``, the only needles coded attributes are compared with.
    """
    found: list[tuple[bytes, bool]] = []
    values = [raw] if vr in SINGLE_VALUE_VRS or vr == "UN" else raw.split(b"\\")
    for value in values:
        text = value.strip().strip(b"\x00")
        if not text or text.upper() in INSERTED_VALUES:
            continue
        if vr == "PN":
            whole_values.add(text)
            tokens = [token for token in _SPLIT_NAME.split(text) if token]
            for token in tokens:
                if len(token) >= 3 and not (token.isdigit() and len(token) < 4):
                    found.append((token, True))
            # Short components ("Li^Wu") are too common alone, but not side by side.
            for pair in (tokens[:2], tokens[1::-1]):
                joined = b" ".join(pair)
                if len(pair) == 2 and len(joined) >= 4:
                    found.append((joined, True))
        elif vr in ("DA", "DT"):
            found.extend((r.encode(), True) for r in date_renderings(text[:8].decode("latin-1")))
        elif vr == "UI":
            if not text.startswith(_WELL_KNOWN) and len(text) >= 8:
                found.append((text, True))
        elif vr in _TEXT_VRS and len(text) >= 4:
            id_like = len(_DIGIT.findall(text)) >= 5
            if private:
                if id_like and not _is_number(text):
                    found.append((text, True))
                    whole_values.add(text)
            elif id_like or any(word in keyword for word in _ID_WORDS) or "Comment" in keyword:
                found.append((text, True))
                whole_values.add(text)
            elif vr in ("LT", "ST", "UT") and len(text) >= 8:
                found.append((text, False))
    return found


class _SourceValues:
    """What the walk over the source collects."""

    def __init__(self) -> None:
        self.needles: set[tuple[bytes, bool]] = set()
        self.values: set[bytes] = set()  # whole values of removed attributes
        self.kept: set[bytes] = set()  # values the options retain (K), folded
        self.dates: set[str] = set()  # YYYYMMDD of removed or shifted dates


def _walk_source(
    elements: list[Element], buf: memoryview, table: ActionTable, out: _SourceValues
) -> None:
    for element in elements:
        if element.items is not None:
            for item in element.items:
                _walk_source(item, buf, table, out)
            continue
        tag = element.tag
        action = table.action_for(tag)
        if tag in BULK_TAGS:
            continue
        vr = element.vr
        if action == "K" and vr not in ("DA", "DT", "UI"):
            raw = bytes(buf[element.value_start : element.value_end])
            out.kept.update(value.strip(b" \x00").lower() for value in raw.split(b"\\"))
            continue
        if action not in _REMOVING_ACTIONS:
            continue
        if action == "C" and vr not in ("DA", "DT"):
            continue  # cleaned text keeps its non-identifying words by design
        private = bool((tag >> 16) & 1)
        raw = bytes(buf[element.value_start : element.value_end])
        if vr in ("DA", "DT"):
            out.dates.update(v[:8].decode("latin-1") for v in raw.split(b"\\") if v.strip())
        out.needles.update(_needles_of(keyword_of(tag), vr, raw, private, out.values))


def collect_needles(
    source: Part10, table: ActionTable, shift_days: int | None = None
) -> PhiNeedles:
    """The source's identifying values; ``shift_days`` is the patient's own date shift."""
    found = _SourceValues()
    _walk_source(source.elements, memoryview(source.buffer), table, found)
    needles = found.needles
    if "retain-uids" in table.options:
        # UIDs are kept on purpose: a copy of one in a removed attribute (a private
        # tag, say) is no evidence that the kept one leaks.
        needles = {needle for needle in needles if not _UID_SHAPE.fullmatch(needle[0])}
    dropped = set(found.kept)  # released on purpose wherever they also appear
    if shift_days:
        for date in found.dates:
            shifted = shift_da(date, shift_days)
            if shifted is not None:
                dropped.update(r.encode().lower() for r in date_renderings(shifted))
    if dropped:
        needles = {needle for needle in needles if needle[0].lower() not in dropped}
    values = frozenset(value for value in found.values if value.lower() not in dropped)
    return PhiNeedles(needles, values)


@cache
def is_coded(tag: int, vr: str) -> bool:
    return vr == "CS" or keyword_of(tag) in CODED_KEYWORDS


def _scanned(elements: list[Element], buf: memoryview) -> Iterator[tuple[str | None, bytes]]:
    """(VR if coded, value) of every element the verifier scans, at every depth."""
    for element in elements:
        tag = element.tag
        if tag in WRITTEN_TAGS or _is_bulk(tag):
            continue
        if element.items is not None:
            for item in element.items:
                yield from _scanned(item, buf)
        else:
            coded = element.vr if is_coded(tag, element.vr) else None
            yield coded, bytes(buf[element.value_start : element.value_end])


def _leaks(needles: PhiNeedles, coded: str | None, value: bytes) -> bool:
    return needles.search(value) if coded is None else needles.in_coded(value, coded)


def find_leaks(output: Part10, needles: PhiNeedles) -> list[str]:
    """Paths of output elements holding any needle (file meta included)."""
    if not needles.count and not needles.values:
        return []
    buf = memoryview(output.buffer)
    text = list(output.meta.values())
    coded_hit = False
    for coded, value in _scanned(output.elements, buf):
        if coded is None:
            text.append(value)
        elif not coded_hit and needles.may_occur_in(value):
            coded_hit = needles.in_coded(value, coded)
    # One search over every text value, NUL-separated so that no match spans two
    # values; paths are worked out only when something matched.
    if not coded_hit and not needles.search(b"\x00".join(text)):
        return []
    findings = [f"file_meta.{element_path('', tag)}" for tag, value in output.meta.items()
                if needles.search(value)]  # fmt: skip
    findings += [path for path, value, coded in _element_paths(output.elements, buf, "")
                 if _leaks(needles, coded, value)]  # fmt: skip
    return findings


def _element_paths(
    elements: list[Element], buf: memoryview, prefix: str
) -> Iterator[tuple[str, bytes, str | None]]:
    for element in elements:
        tag = element.tag
        if tag in WRITTEN_TAGS or _is_bulk(tag):
            continue
        path = element_path(prefix, tag)
        if element.items is not None:
            for index, item in enumerate(element.items):
                yield from _element_paths(item, buf, f"{path}[{index}]")
        else:
            value = bytes(buf[element.value_start : element.value_end])
            yield path, value, element.vr if is_coded(tag, element.vr) else None


def verify_bytes(source: bytes, output: bytes, options: frozenset[str] = frozenset()) -> list[str]:
    """Attribute paths in ``output`` that still hold identifying values of ``source``."""
    needles = collect_needles(read_part10(source), action_table(options))
    return find_leaks(parse_part10(output), needles)


def _to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def verify(source: Dataset, output: Dataset, options: frozenset[str] = frozenset()) -> list[str]:
    """``verify_bytes`` for pydicom datasets (serialised first)."""
    return verify_bytes(_to_bytes(source), _to_bytes(output), options)
