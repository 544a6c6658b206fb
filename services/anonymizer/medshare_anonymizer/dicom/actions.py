"""Where each Annex E action is applied: one pass that writes the de-identified dataset.

``Rewriter._apply`` carries out the action the ``ActionTable`` (see `profile`) resolved
for an element: X remove, Z empty, D dummy (`values`), K keep, C clean (dates shifted
by `dates`, text scrubbed of the source's own identifiers), U replace UIDs (`uids`).
Patient name and ID, accession number and study ID get keyed pseudonyms instead of
Z or D. D on a sequence writes one dummy item that keeps the IOD's structure (see
``_dummy_sequence``); X on Overlay Data removes its whole overlay group, since the
group's other attributes require the data. Elements the profile does not list are
copied as views of the input (only sequences among them are walked, at every depth).
Private elements are buffered per group so that a private creator is written only
when an element of its block survives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from medshare_anonymizer.dicom.dates import shift_multi, shift_ptp_timestamp
from medshare_anonymizer.dicom.part10 import (
    ITEM,
    ITEM_END,
    SEQUENCE_END,
    UNDEFINED,
    Element,
    Encoding,
    decode_text,
    text_values,
)
from medshare_anonymizer.dicom.profile import ActionTable
from medshare_anonymizer.dicom.uids import UidMap
from medshare_anonymizer.dicom.values import dummy_bytes
from medshare_anonymizer.pseudonyms import PseudonymKeys

TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN", "AE", "UR"})
# Free-text VRs hold one value: a backslash in them is text, not a separator.
SINGLE_VALUE_VRS = frozenset({"LT", "ST", "UT", "UR"})
_FREE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC", "PN"})
PATIENT_NAME, PATIENT_ID = 0x00100010, 0x00100020
ACCESSION_NUMBER, STUDY_ID = 0x00080050, 0x00200010
_PSEUDONYM_TAGS = frozenset({PATIENT_NAME, PATIENT_ID, ACCESSION_NUMBER, STUDY_ID})
CONTENT_SEQUENCE = 0x0040A730
CERTIFIED_TIMESTAMP, FRAME_ORIGIN_TIMESTAMP = 0x04000310, 0x00340007
# Coded, numeric and binary values a dummy item keeps: they hold structure (value types,
# graphic layers, coordinates), not identity; text, dates and UIDs are replaced.
_STRUCTURAL_VRS = frozenset({"CS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "IS", "DS",
                             "AT", "OF", "OD", "OL", "OV"})  # fmt: skip
_CONCEPT_NAME_CODE_SEQUENCE = 0x0040A043
_CODE_VALUE, _CODING_SCHEME, _CODE_MEANING = 0x00080100, 0x00080102, 0x00080104

Chunks = list[bytes | memoryview]


@dataclass
class Rewriter:
    """Writes one dataset; ``counts`` tallies what was done (X, Z, D, K, C, U, ...)."""

    source: memoryview
    encoding: Encoding
    table: ActionTable
    keys: PseudonymKeys
    institution: str
    patient_pseudonym: str
    shift_days: int | None  # set only under retain-long-modified-dates
    scrub: Callable[[bytes], bytes]  # removes the source's identifying values from text
    text_encodings: list[str]
    uids: UidMap  # shared with the nested rewriters of UN sequences
    counts: Counter[str] = field(default_factory=Counter)
    # Inside a sequence cleaned by C (clean-structured-content, -graphics...): free text
    # the table does not list (an SR's TextValue) is scrubbed too.
    scrub_unlisted: bool = False
    kept_empty: frozenset[int] = frozenset()  # X becomes Z: the instance's IOD needs them

    def __post_init__(self) -> None:
        enc = self.encoding
        self._item_start = enc.marker(ITEM, UNDEFINED)
        self._item_end = enc.marker(ITEM_END, 0)
        self._sequence_end = enc.marker(SEQUENCE_END, 0)

    def dataset(
        self, elements: Sequence[Element], out: Chunks, inserted: Sequence[tuple[int, bytes]] = ()
    ) -> None:
        """Writes ``elements``; ``inserted`` (tag, encoded element) replace or add elements."""
        pending = list(inserted)
        private_group = -1
        creators: dict[int, Element] = {}
        kept: list[Element] = []
        overlay_group, overlay_removed = -1, False
        for index, element in enumerate(elements):
            tag = element.tag
            group = tag >> 16
            if 0x6000 <= group <= 0x60FF and not group & 1:
                if group != overlay_group:
                    overlay_group = group
                    overlay_removed = self._overlay_removed(elements, index)
                if overlay_removed:
                    self.counts["X"] += 1
                    continue
            if group & 1:
                if group != private_group:
                    self._flush_private(creators, kept, out)
                    private_group, creators, kept = group, {}, []
                self._private(element, creators, kept)
                continue
            if kept or creators:
                self._flush_private(creators, kept, out)
                private_group, creators, kept = -1, {}, []
            if pending and pending[0][0] <= tag and self._insert_through(tag, pending, out):
                continue  # the source element is replaced by the inserted one
            if tag & 0xFFFF == 0:
                continue  # group lengths would be stale after editing
            action = self.table.action_for(tag)
            if action is not None:
                self._apply(element, action, out)
            elif element.items is not None:
                self._sequence(element, out)
            elif self.scrub_unlisted and element.vr in _FREE_TEXT_VRS:
                self._clean(element, out)
            else:
                out.append(self.source[element.start : element.end])
        self._flush_private(creators, kept, out)
        out.extend(chunk for _, chunk in pending)

    def _overlay_removed(self, elements: Sequence[Element], start: int) -> bool:
        """True when the overlay group starting at ``start`` has Overlay Data to remove."""
        group = elements[start].tag >> 16
        for element in elements[start:]:
            if element.tag >> 16 != group:
                return False
            if element.tag & 0xFFFF == 0x3000:
                return self.table.action_for(element.tag) == "X"
        return False

    @staticmethod
    def _insert_through(tag: int, pending: list[tuple[int, bytes]], out: Chunks) -> bool:
        """Writes inserted elements up to ``tag``; True when one of them has that tag."""
        while pending and pending[0][0] <= tag:
            inserted_tag, chunk = pending.pop(0)
            out.append(chunk)
            if inserted_tag == tag:
                return True
        return False

    def _sequence(self, element: Element, out: Chunks, scrub: bool = False) -> None:
        inner = replace(self, scrub_unlisted=True) if scrub and not self.scrub_unlisted else self
        if element.items_encoding is not None and element.items_encoding is not self.encoding:
            # A sequence sent as UN stays UN, its items implicit VR little endian.
            inner = replace(inner, encoding=element.items_encoding)  # shares counts and UIDs
            out.append(self.encoding.header(element.tag, "UN", UNDEFINED))
        else:
            out.append(self.encoding.header(element.tag, "SQ", UNDEFINED))
        for item in element.items or ():
            out.append(inner._item_start)
            inner.dataset(item, out)
            out.append(inner._item_end)
        out.append(inner._sequence_end)

    def _value(self, element: Element) -> bytes:
        return bytes(self.source[element.value_start : element.value_end])

    def _write(self, element: Element, value: bytes, out: Chunks) -> None:
        out.append(self.encoding.element(element.tag, element.vr, value))

    def _apply(self, element: Element, action: str, out: Chunks) -> None:
        if action == "X" and element.tag in self.kept_empty:
            action = "Z"
        if action == "X":
            self.counts["X"] += 1
            return
        if element.items is not None:
            if action == "Z":
                out.append(self.encoding.header(element.tag, "SQ", 0))
            elif action == "D":
                self._dummy_sequence(element, out)
            else:
                self._sequence(element, out, scrub=action == "C")
            self.counts[action] += 1
            return
        vr = element.vr
        if element.tag in _PSEUDONYM_TAGS and action in ("Z", "D"):
            self._pseudonymize(element, out)
        elif action == "K":
            out.append(self.source[element.start : element.end])
            self.counts["K"] += 1
        elif action == "U" or (action == "D" and vr == "UI"):
            self._replace_uids(element, out)
        elif action == "Z":
            self._write(element, b"", out)
            self.counts["Z"] += 1
        elif action == "D":
            self._write(element, dummy_bytes(vr), out)
            self.counts["D"] += 1
        else:
            self._clean(element, out)

    def _dummy_sequence(self, element: Element, out: Chunks) -> None:
        """D on a sequence: a non-empty value (PS3.15 E.1), so one conformant dummy item.

        An SR Content Sequence becomes one TEXT item (CONTAINS, "Comment") whose text is
        the dummy, valid under every SR document's root container. Any other sequence
        keeps the shape of its first item: coded and numeric values stay (value types,
        graphic layers and coordinates must match the rest of the dataset), text, dates
        and binary values become dummies, UIDs are replaced, nested sequences are reduced
        the same way. A sequence sent empty stays empty.
        """
        self.counts["D"] += 1
        if not element.items:
            out.append(self.encoding.header(element.tag, "SQ", 0))
            return
        inner = self
        if element.items_encoding is not None and element.items_encoding is not self.encoding:
            inner = replace(self, encoding=element.items_encoding)
            out.append(self.encoding.header(element.tag, "UN", UNDEFINED))
        else:
            out.append(self.encoding.header(element.tag, "SQ", UNDEFINED))
        out.append(inner._item_start)
        if element.tag == CONTENT_SEQUENCE:
            inner._dummy_content_item(out)
        else:
            inner._dummy_item(element.items[0], out)
        out.append(inner._item_end)
        out.append(inner._sequence_end)

    def _dummy_content_item(self, out: Chunks) -> None:
        enc = self.encoding
        out.append(enc.element(0x0040A010, "CS", b"CONTAINS"))
        out.append(enc.element(0x0040A040, "CS", b"TEXT"))
        out.append(enc.header(_CONCEPT_NAME_CODE_SEQUENCE, "SQ", UNDEFINED) + self._item_start)
        out.append(enc.element(_CODE_VALUE, "SH", b"121106"))
        out.append(enc.element(_CODING_SCHEME, "SH", b"DCM"))
        out.append(enc.element(_CODE_MEANING, "LO", b"Comment"))
        out.append(self._item_end + self._sequence_end)
        out.append(enc.element(0x0040A160, "UT", dummy_bytes("UT")))

    def _dummy_item(self, elements: Sequence[Element], out: Chunks) -> None:
        for element in elements:
            tag = element.tag
            if tag >> 16 & 1 or tag & 0xFFFF == 0:
                continue  # private elements and group lengths are not part of a dummy
            action = self.table.action_for(tag)
            if action == "X":
                continue
            if action == "Z":
                out.append(self.encoding.header(tag, element.vr if element.items is None
                                                else "SQ", 0))  # fmt: skip
            elif element.items is not None:
                self._dummy_sequence(element, out)
                self.counts["D"] -= 1  # counted once, for the outer sequence
            elif element.vr == "UI":
                if action in ("U", "D"):
                    self._replace_uids(element, out)
                else:
                    out.append(self.source[element.start : element.end])
            elif element.vr in _STRUCTURAL_VRS or element.value_end == element.value_start:
                out.append(self.source[element.start : element.end])
            else:
                self._write(element, dummy_bytes(element.vr), out)

    def _pseudonymize(self, element: Element, out: Chunks) -> None:
        tag = element.tag
        value = decode_text(self._value(element), self.text_encodings).strip()
        if tag == PATIENT_NAME or (tag == PATIENT_ID and not value):
            new = self.patient_pseudonym
        elif tag == PATIENT_ID:
            new = self.keys.patient_pseudonym(self.institution, value)
        elif value:
            kind = "accession" if tag == ACCESSION_NUMBER else "study-id"
            new = self.keys.surrogate_id(kind, value)
        else:
            new = ""
        self._write(element, new.encode("ascii"), out)
        self.counts["pseudonym"] += 1

    def _replace_uids(self, element: Element, out: Chunks) -> None:
        if element.vr != "UI":
            out.append(self.source[element.start : element.end])
            self.counts["K"] += 1
            return
        self._write(element, self.uids.replace_value(self._value(element)), out)
        self.counts["U"] += 1

    def _clean(self, element: Element, out: Chunks) -> None:
        vr = element.vr
        raw = self._value(element)
        if element.tag in (CERTIFIED_TIMESTAMP, FRAME_ORIGIN_TIMESTAMP):
            self._binary_timestamp(element, raw, out)
            return
        if vr in ("DA", "DT"):
            if self.shift_days is None:  # C on a date without a shift: nothing safe to keep
                self._write(element, b"", out)  # empty rather than removed: Type 2 dates
                self.counts["Z"] += 1
                return
            values = [value.decode("ascii", "replace") for value in text_values(raw)]
            if values == [""]:
                out.append(self.source[element.start : element.end])
                return
            shifted = shift_multi(values, self.shift_days, vr)
            if shifted is None:  # partial or malformed dates cannot be shifted safely
                self._write(element, b"", out)
                self.counts["Z"] += 1
                return
            self._write(element, "\\".join(shifted).encode("ascii"), out)
            self.counts["shift"] += 1
            return
        if vr in TEXT_VRS and raw.strip(b" \x00"):
            if vr in SINGLE_VALUE_VRS:
                cleaned = self.scrub(raw)
            else:
                cleaned = b"\\".join(self.scrub(value) for value in raw.split(b"\\"))
            if not cleaned.strip(b" \x00\\"):
                cleaned = dummy_bytes(vr)  # all identifying: a dummy keeps a Type 1 value
            self._write(element, cleaned, out)
        else:
            # TM and the other non-text VRs: a whole-day date shift leaves times of day
            # as they are, which keeps every date and time pair consistent.
            out.append(self.source[element.start : element.end])
        self.counts["C"] += 1

    def _binary_timestamp(self, element: Element, raw: bytes, out: Chunks) -> None:
        """C on the binary timestamps (retain-long-modified-dates): shifted or removed.

        A Frame Origin Timestamp (a PTP time) moves by the patient's shift like the dates
        around it. A Certified Timestamp is a signed token: a shifted copy would no longer
        verify and the original would date the study, so it is removed.
        """
        shifted = None
        if element.tag == FRAME_ORIGIN_TIMESTAMP and self.shift_days is not None:
            shifted = shift_ptp_timestamp(raw, self.shift_days)
        if shifted is None:
            self.counts["X"] += 1
            return
        self._write(element, shifted, out)
        self.counts["shift"] += 1

    def _private(self, element: Element, creators: dict[int, Element], kept: list[Element]) -> None:
        number = element.tag & 0xFFFF
        if number < 0x1000:
            if number >= 0x10:
                creators[number] = element  # written later, only if its block survives
            return
        if self.table.private == "C":
            creator = creators.get(number >> 8)
            if creator is not None:
                name = decode_text(self._value(creator), self.text_encodings)
                if self.table.is_safe_private(element.tag >> 16, name, number & 0xFF):
                    kept.append(element)
                    self.counts["K"] += 1
                    return
        self.counts["X"] += 1

    def _flush_private(
        self, creators: dict[int, Element], kept: list[Element], out: Chunks
    ) -> None:
        if not kept:
            return
        blocks = sorted({(element.tag & 0xFFFF) >> 8 for element in kept})
        for block in blocks:
            creator = creators[block]
            out.append(self.source[creator.start : creator.end])
        for element in kept:
            out.append(self.source[element.start : element.end])
