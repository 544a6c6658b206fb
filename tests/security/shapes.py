"""Attack shapes the ingest doors and the anonymizer must refuse cheaply: a DICOM deflate
bomb, DICOM sequences nested past any parser's stack, and JSON nested 200,000 levels.
Shared by tests/security and the fuzz suite (tests/reliability/fuzzing.py).
"""

from __future__ import annotations

import zlib
from functools import cache

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

MIB = 1024 * 1024


def _file_meta(transfer_syntax: str, instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = instance
    meta.TransferSyntaxUID = transfer_syntax
    return meta


@cache
def _flushed(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush(zlib.Z_FULL_FLUSH)


@cache
def deflate_bomb(inflated_bytes: int = 256 * MIB) -> bytes:
    """A Deflated Explicit VR Little Endian file whose data set inflates to
    `inflated_bytes` (mostly one Pixel Data value of zeros): 256 MiB -> about 261 KB."""
    instance = generate_uid()
    head = Dataset()
    head.SOPClassUID = SecondaryCaptureImageStorage
    head.SOPInstanceUID = instance
    head.StudyInstanceUID = generate_uid()
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, head)
    pixels = inflated_bytes - len(body.getvalue()) - 12
    pixels -= pixels % 2
    header = b"\xe0\x7f\x10\x00OB\x00\x00" + pixels.to_bytes(4, "little")
    # Fully flushed raw deflate blocks stand alone: one 1 MiB block of zeros, repeated.
    parts = [_flushed(body.getvalue() + header)]
    parts += [_flushed(bytes(MIB))] * (pixels // MIB)
    parts += [_flushed(bytes(pixels % MIB)), zlib.compressobj(9, zlib.DEFLATED, -15).flush()]
    meta = DicomBytesIO()
    meta.is_little_endian, meta.is_implicit_VR = True, False
    write_file_meta_info(meta, _file_meta(DeflatedExplicitVRLittleEndian, instance))
    return b"\x00" * 128 + b"DICM" + meta.getvalue() + b"".join(parts)


def nested_sequences(depth: int, transfer_syntax: str = ExplicitVRLittleEndian) -> bytes:
    """A small instance whose Content Sequence nests `depth` levels deep (undefined
    lengths, written byte by byte: pydicom's own writer recurses and stops near 250)."""
    explicit = transfer_syntax != ImplicitVRLittleEndian
    instance = generate_uid()
    head = Dataset()
    head.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR: no pixels needed
    head.SOPInstanceUID = instance
    head.StudyInstanceUID = generate_uid()
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, not explicit
    write_dataset(body, head)
    undefined = b"\xff\xff\xff\xff"
    sequence = b"\x40\x00\x30\xa7" + (b"SQ\x00\x00" if explicit else b"") + undefined
    item = b"\xfe\xff\x00\xe0" + undefined
    value = b"\x08\x00\x00\x01" + (b"SH\x02\x00" if explicit else b"\x02\x00\x00\x00") + b"1 "
    ends = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    nested = (sequence + item) * depth + value + ends * depth
    meta = DicomBytesIO()
    meta.is_little_endian, meta.is_implicit_VR = True, False
    meta_info = _file_meta(transfer_syntax, instance)
    meta_info.MediaStorageSOPClassUID = head.SOPClassUID
    write_file_meta_info(meta, meta_info)
    return b"\x00" * 128 + b"DICM" + meta.getvalue() + body.getvalue() + nested


def nested_json(depth: int = 200_000) -> bytes:
    """A case report whose one field nests `depth` arrays."""
    return b'{"patient": ' + b"[" * depth + b"]" * depth + b"}"
