"""Bounds on what a DICOM file may cost to parse, checked before any parser sees it.

Two shapes make a small file expensive: a Deflated Explicit VR data set that inflates
to far more than was sent (a deflate bomb: 261 KB can inflate to 256 MiB), and
sequences nested so deep that a recursive parser exhausts the stack. Both are found
here with bounded memory: inflation runs in fixed-size steps, counting and discarding
the output, and nesting is measured by an iterative walk over element headers.
Ingest and the anonymizer check the same bytes with the same bounds.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Literal

DEFLATED_LE = "1.2.840.10008.1.2.1.99"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFAULT_MAX_INFLATED_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
INFLATE_STEP = 1024 * 1024
UNDEFINED = 0xFFFFFFFF
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010

__all__ = ["DicomBounds", "DicomBoundsError", "check_dicom_bounds", "inflate_bounded"]


class DicomBoundsError(ValueError):
    """The file would cost more than the bounds allow; the message names the bound."""

    def __init__(self, message: str, kind: Literal["too_large", "invalid"]) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class DicomBounds:
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


def inflate_bounded(deflated: bytes | memoryview, cap: int, keep: bool = True) -> bytes:
    """Raw deflate inflated in steps; refuses as soon as the output passes `cap` bytes.

    With `keep=False` nothing is kept (a measuring pass: memory stays at one step).
    A stream cut short yields what it holds; the parser reports the truncation.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending: bytes | memoryview = deflated
    parts: list[bytes] = []
    total = 0
    while True:
        try:
            out = inflater.decompress(pending, INFLATE_STEP)
        except zlib.error:
            raise DicomBoundsError("deflated data set cannot be inflated", "invalid") from None
        total += len(out)
        if total > cap:
            raise DicomBoundsError(
                f"deflated data set inflates to more than {cap} bytes "
                "(MEDSHARE_DICOM_MAX_INFLATED_BYTES): refused as a deflate bomb",
                "too_large",
            )
        if keep:
            parts.append(out)
        pending = inflater.unconsumed_tail
        if inflater.eof or (not pending and not out):
            return b"".join(parts)


def check_dicom_bounds(data: bytes, bounds: DicomBounds | None = None) -> None:
    """Raises `DicomBoundsError` when the file inflates past the cap or nests too deep.

    Files that are not Part 10 or whose headers are damaged pass: the parser that
    follows refuses them with its own reason.
    """
    bounds = bounds or DicomBounds()
    if len(data) < 132 or data[128:132] != b"DICM":
        return
    syntax, start = _file_meta(data)
    body: bytes | memoryview = memoryview(data)[start:]
    if syntax == DEFLATED_LE:
        inflate_bounded(body, bounds.max_inflated_bytes, keep=False)  # measure first
        body = inflate_bounded(body, bounds.max_inflated_bytes)
    _check_depth(
        body, explicit=syntax != IMPLICIT_LE, little=syntax != EXPLICIT_BE, limit=bounds.max_depth
    )


def _file_meta(data: bytes) -> tuple[str, int]:
    """(transfer syntax, offset of the data set); group 0002 is always explicit VR LE."""
    pos, syntax = 132, ""
    while len(data) - pos >= 8:
        group, number, vr = struct.unpack_from("<HH2s", data, pos)
        if group != 0x0002:
            break
        if vr in LONG_VRS:
            if len(data) - pos < 12:
                break
            length, header = struct.unpack_from("<I", data, pos + 8)[0], 12
        else:
            length, header = struct.unpack_from("<H", data, pos + 6)[0], 8
        if length == UNDEFINED:
            break
        if number == 0x0010:
            syntax = data[pos + header : pos + header + length].decode("ascii", "replace")
            syntax = syntax.strip("\x00 ")
        pos += header + length
    return syntax, pos


def _check_depth(body: bytes | memoryview, *, explicit: bool, little: bool, limit: int) -> None:
    """Walks element headers without recursion, tracking open sequences and items.

    Each open container is (end offset or None for undefined length, is a sequence,
    explicit VR inside). Undefined-length UN is a sequence in implicit VR (PS3.5 6.2.2).
    """
    order = "<" if little else ">"
    tag_format = struct.Struct(order + "HH")
    short = struct.Struct(order + "H")
    u32 = struct.Struct(order + "I")
    open_: list[tuple[int | None, bool, bool]] = []
    depth, pos, size = 0, 0, len(body)
    while size - pos >= 8:
        while open_ and open_[-1][0] is not None and pos >= (open_[-1][0] or 0):
            depth -= open_.pop()[1]
        group, number = tag_format.unpack_from(body, pos)
        tag = group << 16 | number
        in_explicit = open_[-1][2] if open_ else explicit
        if group == 0xFFFE:  # items and delimiters: tag and a 4-byte length, no VR
            length = u32.unpack_from(body, pos + 4)[0]
            pos += 8
            if tag == ITEM:
                open_.append((None if length == UNDEFINED else pos + length, False, in_explicit))
            elif tag in (ITEM_END, SEQUENCE_END):
                if not open_ or open_[-1][0] is not None:
                    return  # a stray delimiter: the parser reports the damage
                depth -= open_.pop()[1]
            continue
        if in_explicit:
            vr = bytes(body[pos + 4 : pos + 6])
            if vr in LONG_VRS:
                if size - pos < 12:
                    return
                length, header = u32.unpack_from(body, pos + 8)[0], 12
            else:
                length, header = short.unpack_from(body, pos + 6)[0], 8
        else:
            vr = b"SQ" if _dictionary_sequence(tag) else b"UN"
            length, header = u32.unpack_from(body, pos + 4)[0], 8
        pos += header
        if length == UNDEFINED:
            if tag == PIXEL_DATA and vr != b"SQ":
                pos = _skip_fragments(body, pos, u32, tag_format)
                if pos < 0:
                    return
                continue
            inner_explicit = in_explicit and vr == b"SQ"
            open_.append((None, True, inner_explicit))
            depth += 1
        elif vr == b"SQ":
            open_.append((pos + length, True, in_explicit))
            depth += 1
        else:
            pos += length
        if len(open_) > 2 * limit + 1:
            raise DicomBoundsError(
                f"DICOM items nested deeper than {limit} levels (MEDSHARE_DICOM_MAX_DEPTH)",
                "invalid",
            )
        if depth > limit:
            raise DicomBoundsError(
                f"DICOM sequences nested deeper than {limit} levels (MEDSHARE_DICOM_MAX_DEPTH)",
                "invalid",
            )


def _skip_fragments(
    body: bytes | memoryview, pos: int, u32: struct.Struct, tag_format: struct.Struct
) -> int:
    """Past the sequence delimiter of encapsulated pixel data; -1 when it is cut short."""
    while len(body) - pos >= 8:
        group, number = tag_format.unpack_from(body, pos)
        length = u32.unpack_from(body, pos + 4)[0]
        pos += 8
        if (group << 16 | number) == SEQUENCE_END:
            return pos
        if length == UNDEFINED:
            return -1
        pos += length
    return -1


@cache
def _dictionary_sequence(tag: int) -> bool:
    """Implicit VR carries no VR: a defined-length sequence is known from the dictionary
    (pydicom's, present wherever DICOM is parsed; without it only undefined lengths count)."""
    try:
        from pydicom.datadict import dictionary_VR
    except ImportError:
        return False
    try:
        return bool(dictionary_VR(tag) == "SQ")
    except KeyError:
        return False
