"""JSON parsing with bounded nesting: a document nested 200,000 levels deep must be a
clear refusal, not a RecursionError from the parser (or from validation after it).

The depth is measured before `json.loads` with C-speed passes: strings are cut out
(split at quotes), everything but brackets is deleted (braces become brackets),
and then each pass removes every innermost `[]` pair, one level; a document still
holding pairs after `limit` passes nests deeper than `limit`.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_MAX_DEPTH = 64
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")

__all__ = ["DEFAULT_MAX_DEPTH", "JsonTooDeep", "loads_bounded", "nesting_exceeds"]


class JsonTooDeep(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def nesting_exceeds(data: bytes, limit: int = DEFAULT_MAX_DEPTH) -> bool:
    """True when arrays and objects nest deeper than `limit` (malformed text: False,
    the parser says what is wrong with it)."""
    # Escapes occur only inside strings; without them, every other quote opens a string.
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(_BRACES_AS_BRACKETS, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return True  # the usual attack, found in one search
    for _ in range(limit):
        reduced = brackets.replace(b"[]", b"")  # non-overlapping: one level per pass
        if reduced == brackets:
            return False  # empty, or unbalanced (not ours to report)
        brackets = reduced
    return b"[]" in brackets


def loads_bounded(data: bytes | str, limit: int = DEFAULT_MAX_DEPTH) -> Any:
    """`json.loads`, refusing documents nested deeper than `limit` with `JsonTooDeep`."""
    raw = data.encode() if isinstance(data, str) else data
    if nesting_exceeds(raw, limit):
        raise JsonTooDeep(limit)
    return json.loads(raw)
