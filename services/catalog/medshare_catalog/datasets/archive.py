"""A frozen dataset as a streamed ZIP or tar archive, checked against its manifest.

The archive is produced while it is sent: each object is read from the shared
zone, its SHA-256 compared with the manifest, and written to the stream; memory
holds one object at a time. The archive carries manifest.json and a SHA256SUMS
file (`sha256sum -c` verifies the unpacked files); an object whose bytes no
longer match the manifest is left out and named in MISMATCHED.txt.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal

from medshare_catalog.store.record import Document

ArchiveFormat = Literal["zip", "tar"]
EXTENSIONS = {"application/dicom": "dcm", "application/json": "json"}
Fetch = Callable[[Document], Awaitable[bytes]]


class _Sink:
    """A write-only stream whose bytes are drained after each entry (not seekable)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        return None

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


class _Writer:
    def __init__(self, kind: ArchiveFormat, sink: _Sink):
        self.kind = kind
        self.moment = time.time()
        stream: Any = sink  # write-only and unseekable: both modules stream to such a file
        self.zip: zipfile.ZipFile | None = None
        self.tar: tarfile.TarFile | None = None
        if kind == "zip":
            self.zip = zipfile.ZipFile(stream, "w")
        else:
            self.tar = tarfile.open(fileobj=stream, mode="w|")  # noqa: SIM115 (closed in close())

    def add(self, name: str, data: bytes, compress: bool) -> None:
        if self.zip is not None:
            member = zipfile.ZipInfo(name, time.localtime(self.moment)[:6])
            member.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            with self.zip.open(member, "w", force_zip64=True) as handle:
                handle.write(data)
        else:
            assert self.tar is not None
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            entry.mtime = int(self.moment)
            entry.mode = 0o644
            self.tar.addfile(entry, io.BytesIO(data))

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
        if self.tar is not None:
            self.tar.close()


def member_name(entry: Document) -> str:
    extension = EXTENSIONS.get(str(entry.get("content_type")), "bin")
    return f"records/{entry['record_id']}.{extension}"


async def stream_archive(
    kind: ArchiveFormat, header: Document, entries: Sequence[Document], fetch: Fetch
) -> AsyncIterator[bytes]:
    sink = _Sink()
    writer = _Writer(kind, sink)
    manifest = {**header, "records": list(entries)}
    writer.add("manifest.json", json.dumps(manifest, indent=1, default=str).encode(), True)
    yield sink.drain()
    sums: list[str] = []
    mismatched: list[str] = []
    for entry in entries:
        data = await fetch(entry)
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.get("sha256"):
            mismatched.append(entry["record_id"])
            continue
        name = member_name(entry)
        writer.add(name, data, compress=name.endswith(".json"))
        sums.append(f"{digest}  {name}")
        yield sink.drain()
    writer.add("SHA256SUMS", ("\n".join(sums) + "\n").encode(), True)
    if mismatched:
        note = "objects whose bytes no longer match the manifest (left out):\n"
        writer.add("MISMATCHED.txt", (note + "\n".join(mismatched) + "\n").encode(), True)
    writer.close()
    yield sink.drain()
