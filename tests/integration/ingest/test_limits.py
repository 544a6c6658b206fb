"""Every limit and every kind of bad input: a clear 413/415/422, nothing written, still serving."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEGBaseline8Bit

from medshare_ingest.doors.stow.outcomes import (
    FAILURE_OUT_OF_RESOURCES,
    FAILURE_SOP_CLASS_NOT_SUPPORTED,
    FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED,
)
from medshare_ingest.sample_data import renewed
from tests.integration.ingest.conftest import (
    RunningIngest,
    ingest_app,
    raw_keys,
    settings_from,
)
from tests.integration.ingest.samples import (
    STOW_CONTENT_TYPE,
    case_report,
    failed_items,
    multipart,
    stored_items,
    value,
)

DICOM = {"Content-Type": "application/dicom"}
STOW = {"Content-Type": STOW_CONTENT_TYPE}


def sample(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None
    return renewed(Path(path).read_bytes())


CT = "CT_small.dcm"  # 39 KB, CT Image Storage, Explicit VR Little Endian
MR_IMPLICIT = "MR_small_implicit.dcm"  # 9.8 KB, MR Image Storage, Implicit VR Little Endian
OBJECT_LIMIT = 20_000  # between the two


@pytest.fixture
async def limited(pipeline_env: dict[str, str]) -> AsyncIterator[RunningIngest]:
    settings = settings_from(
        pipeline_env,
        max_object_bytes=OBJECT_LIMIT,
        max_request_bytes=3 * OBJECT_LIMIT,
        max_instances_per_request=3,
        accepted_sop_classes=f"{CTImageStorage},1.2.840.10008.5.1.4.1.1.4",  # CT, MR
        accepted_transfer_syntaxes=f"{ExplicitVRLittleEndian},1.2.840.10008.1.2",
    )
    async with ingest_app(settings) as running:
        yield running


async def test_object_size_limit(limited: RunningIngest, pipeline_env: dict[str, str]) -> None:
    client = limited.client
    answer = await client.post("/instances", content=sample(CT), headers=DICOM)
    assert answer.status_code == 413
    assert "MEDSHARE_MAX_OBJECT_BYTES" in answer.json()["error"]
    big_report = case_report()
    big_report["notes"] = "x" * OBJECT_LIMIT
    answer = await client.post("/case-reports", json=big_report)
    assert answer.status_code == 413

    # Inside STOW-RS the oversized instance fails on its own, the other one is stored.
    answer = await client.post(
        "/studies", content=multipart(sample(CT), sample(MR_IMPLICIT)), headers=STOW
    )
    assert answer.status_code == 202
    assert [value(item, "00081197") for item in failed_items(answer.json())] == [
        FAILURE_OUT_OF_RESOURCES
    ]
    assert len(stored_items(answer.json())) == 1
    assert len(raw_keys(pipeline_env)) == 1


async def test_request_size_limit_even_without_content_length(
    limited: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    parts = [sample(MR_IMPLICIT) for _ in range(7)]  # each fine, together over the limit
    answer = await limited.client.post("/studies", content=multipart(*parts), headers=STOW)
    assert answer.status_code == 413
    assert "MEDSHARE_MAX_REQUEST_BYTES" in answer.json()["error"]

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        body = multipart(*parts)
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    answer = await limited.client.post("/studies", content=chunked(), headers=STOW)
    assert answer.status_code == 413
    assert raw_keys(pipeline_env) == []


async def test_instances_per_request_limit(
    limited: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    small = [sample("SC_rgb_small_odd.dcm") for _ in range(4)]
    answer = await limited.client.post("/studies", content=multipart(*small), headers=STOW)
    assert answer.status_code == 413
    assert "MEDSHARE_MAX_INSTANCES_PER_REQUEST" in answer.json()["error"]
    assert raw_keys(pipeline_env) == []  # all or nothing: no instance was stored


async def test_sop_class_and_transfer_syntax_limits(
    limited: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    client = limited.client
    secondary_capture = sample("SC_rgb_small_odd.dcm")  # SC: not in the accepted classes
    answer = await client.post("/instances", content=secondary_capture, headers=DICOM)
    assert answer.status_code == 415
    assert "MEDSHARE_ACCEPTED_SOP_CLASSES" in answer.json()["error"]

    jpeg = sample("SC_rgb_small_odd_jpeg.dcm")
    dataset = pydicom.dcmread(io.BytesIO(jpeg))
    assert dataset.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    dataset.SOPClassUID = dataset.file_meta.MediaStorageSOPClassUID = CTImageStorage
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    answer = await client.post("/instances", content=buffer.getvalue(), headers=DICOM)
    assert answer.status_code == 415
    assert "MEDSHARE_ACCEPTED_TRANSFER_SYNTAXES" in answer.json()["error"]

    answer = await client.post(
        "/studies", content=multipart(secondary_capture, buffer.getvalue()), headers=STOW
    )
    assert answer.status_code == 409  # none stored
    assert [value(item, "00081197") for item in failed_items(answer.json())] == [
        FAILURE_SOP_CLASS_NOT_SUPPORTED,
        FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED,
    ]
    assert raw_keys(pipeline_env) == []


def malformed_inputs() -> dict[str, tuple[bytes, str]]:
    """Each kind of broken DICOM with the words its refusal must contain."""
    good = sample(MR_IMPLICIT)
    explicit = sample("MR_small.dcm")
    rows = explicit.index(b"\x28\x00\x10\x00US\x02\x00")
    wrong_length = bytearray(explicit)
    wrong_length[rows + 6 : rows + 8] = struct.pack("<H", 3)  # US of 3 bytes
    dataset = pydicom.dcmread(io.BytesIO(good))
    del dataset.SOPInstanceUID
    no_uid = io.BytesIO()
    dataset.save_as(no_uid, enforce_file_format=True)
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "cut in an element header": (good[:-4], "DICOM"),
        "bad preamble": (good[:128] + b"DICX" + good[132:], "preamble"),
        "wrong VR length": (bytes(wrong_length), "(0028,0010)"),
        "missing SOP Instance UID": (no_uid.getvalue(), "SOP Instance UID"),
        "not DICOM": (b"\x89PNG\r\n\x1a\n" + bytes(300), "not a DICOM Part 10 file"),
        "empty": (b"", "empty body"),
    }


async def test_malformed_dicom_refused_with_reasons_and_service_keeps_serving(
    limited: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    client = limited.client
    for name, (data, words) in malformed_inputs().items():
        answer = await client.post("/instances", content=data, headers=DICOM)
        assert answer.status_code == 422, (name, answer.text)
        assert words in answer.json()["error"], (name, answer.json())
    for content_type in ("text/plain", "application/octet-stream", ""):
        answer = await client.post(
            "/instances", content=sample(MR_IMPLICIT), headers={"Content-Type": content_type}
        )
        assert answer.status_code == 415
    answer = await client.post(
        "/studies", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 415
    answer = await client.post(
        "/studies", content=b"no parts", headers={"Content-Type": "multipart/related"}
    )
    assert answer.status_code == 400 and "boundary" in answer.json()["error"]
    answer = await client.post(
        "/case-reports", content=b"{]", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and "invalid JSON" in answer.json()["error"]
    assert raw_keys(pipeline_env) == []

    answer = await client.post("/instances", content=sample(MR_IMPLICIT), headers=DICOM)
    assert answer.status_code == 202
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert len(raw_keys(pipeline_env)) == 1
    assert json.dumps(answer.json())  # a well-formed answer after all the bad ones
