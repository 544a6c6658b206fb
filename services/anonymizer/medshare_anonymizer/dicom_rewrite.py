"""One pass over a parsed dataset that writes the de-identified dataset as byte chunks.

Each element gets the action the cached ``ActionTable`` resolved for it; elements
the profile does not list are copied as views of the input (only sequences among
them are walked, at every depth). Private elements are buffered per group so that a
private creator is written only when an element of its block survives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from medshare_anonymizer.dicom_bytes import (
    ITEM,
    ITEM_END,
    SEQUENCE_END,
    UNDEFINED,
    Element,
    Encoding,
    decode_text,
    text_values,
)
from medshare_anonymizer.dicom_profile import ActionTable
from medshare_anonymizer.dicom_values import dummy_bytes, shift_multi
from medshare_anonymizer.pseudonyms import PseudonymKeys

WELL_KNOWN_UID_ROOT = "1.2.840.10008."
TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN", "AE", "UR"})
# Free-text VRs hold one value: a backslash in them is text, not a separator.
SINGLE_VALUE_VRS = frozenset({"LT", "ST", "UT", "UR"})
PATIENT_NAME, PATIENT_ID = 0x00100010, 0x00100020
ACCESSION_NUMBER, STUDY_ID = 0x00080050, 0x00200010
_PSEUDONYM_TAGS = frozenset({PATIENT_NAME, PATIENT_ID, ACCESSION_NUMBER, STUDY_ID})

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
    counts: Counter[str] = field(default_factory=Counter)
    _uid_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        enc = self.encoding
        self._item_start = enc.marker(ITEM, UNDEFINED)
        self._item_end = enc.marker(ITEM_END, 0)
        self._sequence_end = enc.marker(SEQUENCE_END, 0)

    def map_uid(self, uid: str) -> str:
        uid = uid.strip().rstrip("\x00")
        if not uid or uid.startswith(WELL_KNOWN_UID_ROOT):
            return uid
        mapped = self._uid_map.get(uid)
        if mapped is None:
            mapped = self._uid_map[uid] = self.keys.uid(uid)
        return mapped

    def dataset(
        self, elements: Sequence[Element], out: Chunks, inserted: Sequence[tuple[int, bytes]] = ()
    ) -> None:
        """Writes ``elements``; ``inserted`` (tag, encoded element) replace or add elements."""
        pending = list(inserted)
        private_group = -1
        creators: dict[int, Element] = {}
        kept: list[Element] = []
        for element in elements:
            tag = element.tag
            group = tag >> 16
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
            else:
                out.append(self.source[element.start : element.end])
        self._flush_private(creators, kept, out)
        out.extend(chunk for _, chunk in pending)

    @staticmethod
    def _insert_through(tag: int, pending: list[tuple[int, bytes]], out: Chunks) -> bool:
        """Writes inserted elements up to ``tag``; True when one of them has that tag."""
        while pending and pending[0][0] <= tag:
            inserted_tag, chunk = pending.pop(0)
            out.append(chunk)
            if inserted_tag == tag:
                return True
        return False

    def _sequence(self, element: Element, out: Chunks) -> None:
        inner = self
        if element.items_encoding is not None and element.items_encoding is not self.encoding:
            # A sequence sent as UN stays UN, its items implicit VR little endian.
            inner = replace(self, encoding=element.items_encoding)  # shares counts and UIDs
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
        if action == "X":
            self.counts["X"] += 1
            return
        if element.items is not None:
            if action in ("Z", "D"):  # no dummy items: an empty sequence carries nothing
                out.append(self.encoding.header(element.tag, "SQ", 0))
            else:
                self._sequence(element, out)
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
        values = self._value(element).decode("ascii", "replace").split("\\")
        mapped = "\\".join(self.map_uid(value) for value in values)
        self._write(element, mapped.encode("ascii", "replace"), out)
        self.counts["U"] += 1

    def _clean(self, element: Element, out: Chunks) -> None:
        vr = element.vr
        raw = self._value(element)
        if vr in ("DA", "DT"):
            if self.shift_days is None:
                self.counts["X"] += 1  # C on a date without a shift: nothing safe to keep
                return
            values = [value.decode("ascii", "replace") for value in text_values(raw)]
            if values == [""]:
                out.append(self.source[element.start : element.end])
                return
            shifted = shift_multi(values, self.shift_days, vr)
            if shifted is None:
                self.counts["X"] += 1  # partial or malformed dates cannot be shifted safely
                return
            self._write(element, "\\".join(shifted).encode("ascii"), out)
            self.counts["shift"] += 1
            return
        if vr in TEXT_VRS and raw.strip(b" \x00"):
            if vr in SINGLE_VALUE_VRS:
                raw = self.scrub(raw)
            else:
                raw = b"\\".join(self.scrub(value) for value in raw.split(b"\\"))
            self._write(element, raw, out)
        else:
            # TM and the other non-text VRs: a whole-day date shift leaves times of day
            # as they are, which keeps every date and time pair consistent.
            out.append(self.source[element.start : element.end])
        self.counts["C"] += 1

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
