"""Streamed archives (ZIP and tar) and server-side thumbnails."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from medshare_catalog.datasets.archive import stream_archive
from medshare_catalog.store.thumbnails import render_thumbnail

OBJECTS = {"a" * 64: b"\x00DICM-bytes" * 100, "b" * 64: b'{"report": 1}'}


def entries() -> list[dict[str, Any]]:
    return [
        {"record_id": "a" * 64, "sha256": hashlib.sha256(OBJECTS["a" * 64]).hexdigest(),
         "content_type": "application/dicom", "key": "dicom/a.dcm"},
        {"record_id": "b" * 64, "sha256": hashlib.sha256(OBJECTS["b" * 64]).hexdigest(),
         "content_type": "application/json", "key": "case_report/b.json"},
    ]  # fmt: skip


async def fetch(entry: dict[str, Any]) -> bytes:
    return OBJECTS[entry["record_id"]]


def collect(kind: str, items: list[dict[str, Any]]) -> tuple[bytes, int]:
    async def run() -> tuple[bytes, int]:
        chunks = [chunk async for chunk in stream_archive(kind, {"dataset_id": "d1"}, items, fetch)]  # type: ignore[arg-type]
        return b"".join(chunks), len(chunks)

    return asyncio.run(run())


def test_zip_stream_holds_objects_manifest_and_checksums() -> None:
    data, chunks = collect("zip", entries())
    assert chunks >= 3  # manifest, one per object, trailer: sent while produced
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[0] == "manifest.json"
        assert archive.read(f"records/{'a' * 64}.dcm") == OBJECTS["a" * 64]
        assert archive.read(f"records/{'b' * 64}.json") == OBJECTS["b" * 64]
        sums = archive.read("SHA256SUMS").decode().splitlines()
        assert all(
            line.split()[0] == hashlib.sha256(archive.read(line.split()[1])).hexdigest()
            for line in sums
        )
        assert "MISMATCHED.txt" not in names
        assert archive.testzip() is None


def test_tar_stream_and_mismatch_report() -> None:
    broken = entries()
    broken[1]["sha256"] = "0" * 64
    data, _ = collect("tar", broken)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        assert f"records/{'a' * 64}.dcm" in names
        assert f"records/{'b' * 64}.json" not in names
        mismatched = archive.extractfile("MISMATCHED.txt")
        assert mismatched is not None and ("b" * 64).encode() in mismatched.read()


@pytest.mark.parametrize(
    ("name", "mode"),
    [("CT_small.dcm", "L"), ("MR_small.dcm", "L"), ("SC_rgb.dcm", "RGB"), ("JPEG2000.dcm", "L"),
     ("MR_small_RLE.dcm", "L")],
)  # fmt: skip
def test_thumbnails_render_within_the_size(name: str, mode: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    png = render_thumbnail(Path(path).read_bytes(), 64)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == mode
    assert max(image.size) == 64
    colours = image.getcolors(1 << 24) or []
    assert len(colours) > 10, "a real image, not a blank"
