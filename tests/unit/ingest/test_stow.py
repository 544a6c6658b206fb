from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medshare_ingest.doors.stow.multipart import MultipartError, split_multipart
from medshare_ingest.doors.stow.outcomes import (
    FAILURE_CANNOT_UNDERSTAND,
    InstanceOutcome,
    identify,
    stow_response,
)

BOUNDARY = "medshare-test-boundary"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def multipart(*parts: bytes) -> bytes:
    body = b""
    for part in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def test_splits_parts_byte_exact() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path
    data = Path(path).read_bytes()
    parts = split_multipart(multipart(data, b"second"), CONTENT_TYPE)
    assert [payload for _, payload in parts] == [data, b"second"]
    assert parts[0][0]["content-type"] == "application/dicom"


def test_quoted_boundary_and_other_params() -> None:
    header = f'multipart/related; boundary="{BOUNDARY}"; type="application/dicom"'
    assert len(split_multipart(multipart(b"a"), header)) == 1


@pytest.mark.parametrize(
    ("header", "message", "status"),
    [
        ("application/dicom", "multipart/related", 415),
        (f'multipart/related; type="application/json"; boundary={BOUNDARY}', "unsupported", 415),
        ('multipart/related; type="application/dicom"', "boundary", 400),
    ],
)
def test_bad_content_types(header: str, message: str, status: int) -> None:
    with pytest.raises(MultipartError, match=message) as raised:
        split_multipart(multipart(b"a"), header)
    assert raised.value.http_status == status


def test_body_without_the_declared_boundary_is_malformed() -> None:
    with pytest.raises(MultipartError, match="no parts") as raised:
        split_multipart(b"just bytes", CONTENT_TYPE)
    assert raised.value.http_status == 400


def test_identify_reads_uids() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path
    sop_class, sop_instance, study = identify(Path(path).read_bytes())
    assert sop_class == "1.2.840.10008.5.1.4.1.1.2"
    assert sop_instance and study
    assert identify(b"garbage") == ("", "", "")


def test_response_statuses_and_sequences() -> None:
    ok = InstanceOutcome("1.2", "1.2.3", record_id="abc")
    bad = InstanceOutcome("", "", FAILURE_CANNOT_UNDERSTAND, "not a DICOM Part 10 file")
    status, body = stow_response([ok])
    assert status == 200 and "00081198" not in body
    assert body["00081199"]["Value"][0]["00081190"]["Value"] == ["urn:medshare:record:abc"]
    status, body = stow_response([ok, bad])
    assert status == 202
    failed = body["00081198"]["Value"][0]
    assert failed["00081197"]["Value"] == [FAILURE_CANNOT_UNDERSTAND]
    assert "Part 10" in failed["00000902"]["Value"][0]
    status, _ = stow_response([bad])
    assert status == 409
