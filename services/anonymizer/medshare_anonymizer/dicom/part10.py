"""Byte-level reading and writing of DICOM Part-10 data for the de-identification engine.

The engine never builds pydicom objects on its hot path: it parses the file into a
light tree of element offsets (``Element``), decides per element, and writes the
output as a list of byte chunks in which every untouched element, pixel data
included, is a zero-copy view of the input. Sequences and items are always written
with undefined length, so edited values never force length recomputation.

Malformed input raises ``DicomFormatError`` (the record is rejected; messages name
tags, never values). Valid encodings this parser does not handle (a sequence hidden
in a big-endian UN element, elements out of order, an invalid VR) raise ``UnsupportedEncoding``:
the caller then lets pydicom normalise the file and parses the result.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
SPECIFIC_CHARACTER_SET = 0x00080005

VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB",
                 "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM",
                 "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"})  # fmt: skip
_VR_BY_BYTES = {vr.encode(): vr for vr in VRS}
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_NUL_PADDED = frozenset({"UI", "OB", "UN"})


class DicomFormatError(Exception):
    """The bytes are not a readable DICOM Part-10 instance."""


class UnsupportedEncoding(Exception):
    """Valid DICOM this parser leaves to pydicom (normalised, then parsed again)."""


def tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class Encoding:
    """How a dataset is encoded: explicit or implicit VR, little or big endian."""

    __slots__ = ("explicit", "implicit", "little", "long", "short", "u32")

    def __init__(self, explicit: bool, little: bool) -> None:
        order = "<" if little else ">"
        self.explicit = explicit
        self.little = little
        self.short = struct.Struct(order + "HH2sH")  # explicit VR, 16-bit length
        self.long = struct.Struct(order + "HH2s2xI")  # explicit VR, 32-bit length
        self.implicit = struct.Struct(order + "HHI")  # implicit VR, items, delimiters
        self.u32 = struct.Struct(order + "I")

    def header(self, tag: int, vr: str, length: int) -> bytes:
        if not self.explicit:
            return self.implicit.pack(tag >> 16, tag & 0xFFFF, length)
        if vr in LONG_VRS:
            return self.long.pack(tag >> 16, tag & 0xFFFF, vr.encode(), length)
        if length > 0xFFFF:
            raise UnsupportedEncoding(f"value of {tag_text(tag)} too long for VR {vr}")
        return self.short.pack(tag >> 16, tag & 0xFFFF, vr.encode(), length)

    def element(self, tag: int, vr: str, value: bytes) -> bytes:
        """One complete element; ``value`` is padded to even length for its VR."""
        if len(value) & 1:
            value += b"\x00" if vr in _NUL_PADDED else b" "
        return self.header(tag, vr, len(value)) + value

    def marker(self, tag: int, length: int) -> bytes:
        """Item and delimiter headers: tag and 32-bit length, never a VR."""
        return self.implicit.pack(tag >> 16, tag & 0xFFFF, length)

    def unsigned(self, raw: bytes, vr: str) -> int | None:
        """The first value of a US or UL element, None when empty."""
        size = 2 if vr in ("US", "SS") else 4
        if len(raw) < size:
            return None
        return int.from_bytes(raw[:size], "little" if self.little else "big")


EXPLICIT_LITTLE = Encoding(explicit=True, little=True)
IMPLICIT_LITTLE = Encoding(explicit=False, little=True)
_ENCODINGS = {
    IMPLICIT_LE: IMPLICIT_LITTLE,
    EXPLICIT_BE: Encoding(explicit=True, little=False),
}


def encoding_for(transfer_syntax: str) -> Encoding:
    """Every syntax but implicit LE and explicit BE encodes its dataset as explicit LE."""
    return _ENCODINGS.get(transfer_syntax, EXPLICIT_LITTLE)


class Element:
    """Offsets of one element in the parsed buffer; ``items`` is set for sequences.

    ``items_encoding`` is set for a sequence sent as UN: its items are implicit VR
    little endian whatever the dataset's encoding (PS3.5 6.2.2).
    """

    __slots__ = ("end", "items", "items_encoding", "start", "tag", "value_end", "value_start", "vr")

    def __init__(self, tag: int, vr: str, start: int, value_start: int, value_end: int,
                 end: int, items: list[list[Element]] | None,
                 items_encoding: Encoding | None = None) -> None:  # fmt: skip
        self.tag = tag
        self.vr = vr
        self.start = start
        self.value_start = value_start
        self.value_end = value_end
        self.end = end
        self.items = items
        self.items_encoding = items_encoding


_IMPLICIT_VR_CACHE: dict[int, str] = {}


def dictionary_vr(tag: int) -> str:
    """The data dictionary's VR ("UN" when unknown; the first of an ambiguous pair)."""
    vr = _IMPLICIT_VR_CACHE.get(tag)
    if vr is None:
        try:
            vr = str(dictionary_VR(tag)).split(" or ")[0]
        except KeyError:
            vr = "UN"
        _IMPLICIT_VR_CACHE[tag] = vr
    return vr


def _parse_dataset(buf: bytes, pos: int, end: int, enc: Encoding, in_undefined_item: bool
                   ) -> tuple[list[Element], int]:  # fmt: skip
    elements: list[Element] = []
    short = enc.short.unpack_from
    implicit = enc.implicit.unpack_from
    u32 = enc.u32.unpack_from
    explicit = enc.explicit
    previous = -1
    while pos < end:
        if end - pos < 8:
            raise DicomFormatError("truncated file: element header cut short")
        if explicit:
            group, number, vr_bytes, length = short(buf, pos)
            if group == 0xFFFE:
                length = u32(buf, pos + 4)[0]
                vr = ""
            else:
                vr = _VR_BY_BYTES.get(vr_bytes, "")
                if not vr:
                    raise UnsupportedEncoding(f"invalid VR in {tag_text(group << 16 | number)}")
                if vr in LONG_VRS:
                    if end - pos < 12:
                        raise DicomFormatError("truncated file: element header cut short")
                    length = u32(buf, pos + 8)[0]
                    value_start = pos + 12
                else:
                    value_start = pos + 8
        else:
            group, number, length = implicit(buf, pos)
            vr = ""
        tag = group << 16 | number
        if group == 0xFFFE:
            if tag == ITEM_END and in_undefined_item:
                return elements, pos + 8
            raise DicomFormatError(f"unexpected delimiter {tag_text(tag)} inside a dataset")
        if not explicit:
            vr = dictionary_vr(tag)
            value_start = pos + 8
        if tag <= previous:
            raise UnsupportedEncoding("elements out of ascending tag order")
        previous = tag
        items: list[list[Element]] | None = None
        items_encoding: Encoding | None = None
        if length == UNDEFINED:
            if vr == "SQ" or (vr == "UN" and not explicit):
                vr = "SQ"
                items, element_end = _parse_items(buf, value_start, None, enc)
            elif tag == PIXEL_DATA or vr in ("OB", "OW"):
                element_end = _skip_fragments(buf, value_start, enc)
            elif vr == "UN":
                vr, items_encoding = "SQ", IMPLICIT_LITTLE
                items, element_end = _un_sequence(buf, value_start, None, enc, tag)
            else:
                raise DicomFormatError(f"undefined length on non-sequence {tag_text(tag)}")
            value_end = element_end
        else:
            value_end = element_end = value_start + length
            if value_end > end:
                raise DicomFormatError(
                    f"truncated file: element {tag_text(tag)} extends past the end of the data"
                )
            if vr == "UN" and explicit:
                vr = dictionary_vr(tag)  # value bytes are the same; replacements use the real VR
                if vr == "SQ":
                    items_encoding = IMPLICIT_LITTLE
                    items, _ = _un_sequence(buf, value_start, value_end, enc, tag)
            elif vr == "SQ":
                items, _ = _parse_items(buf, value_start, value_end, enc)
        elements.append(
            Element(tag, vr, pos, value_start, value_end, element_end, items, items_encoding)
        )
        pos = element_end
    if in_undefined_item:
        raise DicomFormatError("truncated file: item without its delimiter")
    return elements, pos


def _un_sequence(buf: bytes, pos: int, end: int | None, enc: Encoding, tag: int
                 ) -> tuple[list[list[Element]], int]:  # fmt: skip
    """Items of a sequence sent as UN: implicit VR little endian inside."""
    if not enc.little:
        raise UnsupportedEncoding(f"sequence {tag_text(tag)} encoded as UN in big endian")
    try:
        return _parse_items(buf, pos, end, IMPLICIT_LITTLE)
    except DicomFormatError:
        raise UnsupportedEncoding(f"sequence {tag_text(tag)} encoded as UN") from None


def _parse_items(buf: bytes, pos: int, end: int | None, enc: Encoding
                 ) -> tuple[list[list[Element]], int]:  # fmt: skip
    items: list[list[Element]] = []
    limit = len(buf) if end is None else end
    marker = enc.implicit.unpack_from
    while end is None or pos < end:
        if limit - pos < 8:
            raise DicomFormatError("truncated file: sequence cut short")
        group, number, length = marker(buf, pos)
        tag = group << 16 | number
        pos += 8
        if tag == SEQUENCE_END:
            if end is not None:
                raise UnsupportedEncoding("sequence delimiter in a defined-length sequence")
            return items, pos
        if tag != ITEM:
            raise DicomFormatError(f"expected a sequence item, found {tag_text(tag)}")
        if length == UNDEFINED:
            item, pos = _parse_dataset(buf, pos, limit, enc, True)
        else:
            if pos + length > limit:
                raise DicomFormatError("truncated file: sequence item extends past its end")
            item, _ = _parse_dataset(buf, pos, pos + length, enc, False)
            pos += length
        items.append(item)
    return items, pos


def _skip_fragments(buf: bytes, pos: int, enc: Encoding) -> int:
    marker = enc.implicit.unpack_from
    size = len(buf)
    while True:
        if size - pos < 8:
            raise DicomFormatError("truncated file: encapsulated pixel data cut short")
        group, number, length = marker(buf, pos)
        tag = group << 16 | number
        pos += 8
        if tag == SEQUENCE_END:
            return pos
        if tag != ITEM or pos + length > size:
            raise DicomFormatError("truncated file: encapsulated pixel data cut short")
        pos += length


@dataclass
class Part10:
    """A parsed Part-10 file: file meta values, transfer syntax and the dataset tree."""

    meta: dict[int, bytes]
    transfer_syntax: str
    encoding: Encoding
    buffer: bytes  # holds the dataset (the inflated dataset for the deflated syntax)
    elements: list[Element]

    @property
    def deflated(self) -> bool:
        return self.transfer_syntax == DEFLATED_LE


def _parse_meta(data: bytes) -> tuple[dict[int, bytes], int]:
    meta: dict[int, bytes] = {}
    pos = 132
    short = EXPLICIT_LITTLE.short.unpack_from
    while len(data) - pos >= 8:
        group, number, vr_bytes, length = short(data, pos)
        if group != 0x0002:
            break
        vr = _VR_BY_BYTES.get(vr_bytes)
        if vr is None:
            raise UnsupportedEncoding("file meta information is not explicit VR")
        start = pos + 8
        if vr in LONG_VRS:
            length = struct.unpack_from("<I", data, pos + 8)[0]
            start = pos + 12
        if length == UNDEFINED or start + length > len(data):
            raise DicomFormatError("truncated file: file meta information cut short")
        meta[group << 16 | number] = data[start : start + length]
        pos = start + length
    return meta, pos


def parse_part10(data: bytes) -> Part10:
    if len(data) < 132 or data[128:132] != b"DICM":
        raise DicomFormatError("not a DICOM Part-10 file (no 'DICM' marker after preamble)")
    meta, pos = _parse_meta(data)
    syntax_raw = meta.get(0x00020010)
    if syntax_raw is None:
        raise DicomFormatError("file meta has no TransferSyntaxUID")
    syntax = syntax_raw.decode("ascii", "replace").strip("\x00 ")
    buffer: bytes = data
    if syntax == DEFLATED_LE:
        try:
            buffer = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[pos:])
        except zlib.error:
            raise DicomFormatError("deflated dataset cannot be inflated") from None
        pos = 0
    encoding = encoding_for(syntax)
    elements, _ = _parse_dataset(buffer, pos, len(buffer), encoding, False)
    return Part10(meta, syntax, encoding, buffer, elements)


def _normalised(data: bytes) -> bytes:
    """pydicom's reading of a file, every element converted, written back out."""
    from pydicom import dcmread
    from pydicom.filewriter import dcmwrite

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data))
            for _ in ds.iterall():  # converts every element (UN sequences, odd VRs)
                pass
            buffer = io.BytesIO()
            dcmwrite(buffer, ds, enforce_file_format=True)
    except Exception as exc:  # pydicom's message may quote values
        raise DicomFormatError(f"unreadable DICOM ({type(exc).__name__})") from None
    return buffer.getvalue()


def read_part10(data: bytes) -> Part10:
    """``parse_part10``, after a pydicom round trip for encodings it leaves to pydicom."""
    try:
        return parse_part10(data)
    except UnsupportedEncoding:
        pass
    try:
        return parse_part10(_normalised(data))
    except UnsupportedEncoding as exc:
        raise DicomFormatError(f"unsupported DICOM encoding ({exc})") from None


def deflate(dataset: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(dataset) + compressor.flush()


def text_values(raw: bytes) -> list[bytes]:
    """Backslash-separated values without their padding."""
    return [value.strip(b" \x00") for value in raw.rstrip(b" \x00").split(b"\\")]


def python_encodings(raw_charset: bytes | None) -> list[str]:
    if not raw_charset:
        return ["iso8859"]
    names = [value.decode("ascii", "replace") for value in text_values(raw_charset)]
    return list(convert_encodings(names))


def decode_text(raw: bytes, encodings: list[str]) -> str:
    """A text value as str, in the dataset's character set, without padding."""
    raw = raw.rstrip(b" \x00")
    if encodings == ["iso8859"] or raw.isascii():
        return raw.decode("latin-1")
    return str(decode_bytes(raw, encodings, set()))


def walk_elements(elements: Iterable[Element]) -> Iterable[Element]:
    """Every element at every depth, in file order."""
    for element in elements:
        yield element
        if element.items:
            for item in element.items:
                yield from walk_elements(item)
