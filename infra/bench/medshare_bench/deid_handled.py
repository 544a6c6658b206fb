"""How many of the profile's attributes a de-identifier actually handled.

For one input and one tool's output: every attribute of PS3.15 Table E.1-1 present in
the input with a non-empty value (at any depth, private data elements and the
repeating overlay/curve groups included) counts as *handled* when the output has it
removed, emptied or with a different value, and *unchanged* when the output holds
the same value at the same place. Both sides are read with pydicom, independently of
any tool.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from medshare_anonymizer.dicom.profile import PRIVATE, load_profile

Path = tuple[int, ...]  # tag, item index, tag, ... down to the attribute


@cache
def _profile_tags() -> frozenset[int]:
    return frozenset(
        int(row.tag.strip("()").replace(",", ""), 16)
        for row in load_profile().rows
        if row.tag != PRIVATE and "X" not in row.tag
    )


def in_profile(tag: int) -> bool:
    """A Table E.1-1 row covers the tag (exact, 50xx/60xx repeating groups, private data)."""
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return element >= 0x1000  # private data elements; creators are bookkeeping
    if 0x5000 <= group <= 0x50FF:
        return True
    if 0x6000 <= group <= 0x60FF and element in (0x3000, 0x4000):
        return True
    return tag in _profile_tags()


def _comparable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.rstrip(b"\x00 ")
    if isinstance(value, list | tuple | MultiValue):
        return tuple(_comparable(v) for v in value)
    return str(value).strip()


def _is_empty(value: Any) -> bool:
    return value in (None, "", b"", ()) or (isinstance(value, list | MultiValue) and not value)


def _walk(ds: Dataset, prefix: Path, out: dict[Path, Any], only_profile: bool) -> None:
    for tag in list(ds.keys()):
        try:
            element = ds[tag]
        except Exception:  # an undecodable value: compared as absent
            continue
        path = (*prefix, int(tag))
        if element.VR == "SQ":
            items = element.value or []
            if items and (not only_profile or in_profile(int(tag))):
                out[path] = str(items)  # whole-sequence fingerprint
            for index, item in enumerate(items):
                _walk(item, (*path, index), out, only_profile)
            continue
        if only_profile and not in_profile(int(tag)):
            continue
        if not _is_empty(element.value):
            out[path] = _comparable(element.value)


def read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data), force=True)


def values(data: bytes, only_profile: bool) -> dict[Path, Any]:
    """Non-empty values by path: all of them, or only the profile's attributes."""
    out: dict[Path, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _walk(read(data), (), out, only_profile)
    return out


def keyword_of(path: Path) -> str:
    from pydicom.datadict import keyword_for_tag

    tag = path[-1]
    if (tag >> 16) & 1:
        return "private"
    if 0x5000 <= tag >> 16 <= 0x50FF:
        return "curve data"
    if 0x6000 <= tag >> 16 <= 0x60FF:
        return "overlay"
    return keyword_for_tag(tag) or f"{tag:08X}"


@dataclass
class Handled:
    """Tally of profile attributes: one instance, or summed over many."""

    instances: int = 0
    present: int = 0
    handled: int = 0
    unchanged: Counter[str] = field(default_factory=Counter)

    @classmethod
    def compare(cls, source: dict[Path, Any], output: dict[Path, Any]) -> Handled:
        tally = cls(instances=1)
        for path, value in source.items():
            tally.present += 1
            if output.get(path) == value:
                tally.unchanged[keyword_of(path)] += 1
            else:
                tally.handled += 1
        return tally

    def __add__(self, other: Handled) -> Handled:
        return Handled(self.instances + other.instances, self.present + other.present,
                       self.handled + other.handled, self.unchanged + other.unchanged)  # fmt: skip

    @property
    def fraction(self) -> float:
        return self.handled / self.present if self.present else 1.0

    def summary(self, top: int = 12) -> dict[str, Any]:
        return {
            "instances": self.instances,
            "present": self.present,
            "handled": self.handled,
            "unchanged": self.present - self.handled,
            "handled_fraction": round(self.fraction, 4),
            "unchanged_attributes": dict(self.unchanged.most_common(top)),
        }
