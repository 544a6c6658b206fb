"""Read-only access by keyword to the top-level values of a parsed dataset.

Used for the decisions made before and after rewriting (patient key, burned-in text,
completeness, catalog metadata); only the few elements asked for are decoded.
"""

from __future__ import annotations

from typing import Any

from pydicom.datadict import tag_for_keyword

from medshare_anonymizer.dicom.part10 import (
    SPECIFIC_CHARACTER_SET,
    Element,
    Part10,
    decode_text,
    python_encodings,
)

_BINARY_INTEGER_VRS = frozenset({"US", "UL"})


class DatasetView:
    def __init__(self, part10: Part10) -> None:
        self.part10 = part10
        self.by_tag: dict[int, Element] = {element.tag: element for element in part10.elements}
        self.encodings = python_encodings(self.raw_tag(SPECIFIC_CHARACTER_SET))

    def raw_tag(self, tag: int) -> bytes | None:
        element = self.by_tag.get(tag)
        if element is None or element.items is not None:
            return None
        return bytes(self.part10.buffer[element.value_start : element.value_end])

    def __contains__(self, keyword: str) -> bool:
        return _tag(keyword) in self.by_tag

    def text(self, keyword: str) -> str:
        """The value as text without padding ("" when absent or empty)."""
        raw = self.raw_tag(_tag(keyword))
        return decode_text(raw, self.encodings).strip() if raw else ""

    def get(self, keyword: str, default: Any = None) -> Any:
        """Dataset-like ``get``: the text value, or ``default`` when absent."""
        return self.text(keyword) if keyword in self else default

    def integer(self, keyword: str, strict: bool = False) -> int | None:
        """First value of a US, UL or IS element; None when absent or empty.

        An unreadable IS value is None, or a ValueError when ``strict``.
        """
        element = self.by_tag.get(_tag(keyword))
        raw = self.raw_tag(_tag(keyword))
        if element is None or not raw:
            return None
        if element.vr in _BINARY_INTEGER_VRS:
            return self.part10.encoding.unsigned(raw, element.vr)
        try:
            return int(raw.decode("ascii").split("\\")[0].strip(" \x00"))
        except (UnicodeDecodeError, ValueError):
            if strict:
                raise ValueError(f"{keyword} is not an integer") from None
            return None

    def sequence_items(self, keyword: str) -> int:
        element = self.by_tag.get(_tag(keyword))
        return len(element.items) if element is not None and element.items else 0


_TAGS: dict[str, int] = {}


def _tag(keyword: str) -> int:
    tag = _TAGS.get(keyword)
    if tag is None:
        found = tag_for_keyword(keyword)
        if found is None:
            raise KeyError(keyword)
        tag = _TAGS[keyword] = int(found)
    return tag
