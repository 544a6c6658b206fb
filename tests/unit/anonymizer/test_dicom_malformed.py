from __future__ import annotations

import pytest

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys

from .conftest import parse, read_bytes, sample_path, to_bytes

PHI = ("CompressedSamples", "1CT1", "JFK")


def _rejected(data: bytes, keys: PseudonymKeys) -> str:
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "rejected"
    assert result.output is None and result.patient_pseudonym is None
    assert result.reason
    assert not any(value.lower() in result.reason.lower() for value in PHI)
    return result.reason


def test_not_dicom(keys: PseudonymKeys) -> None:
    assert "not a DICOM" in _rejected(b"%PDF-1.4 definitely not an image", keys)
    assert "not a DICOM" in _rejected(b"", keys)


def test_bad_preamble_marker(keys: PseudonymKeys) -> None:
    data = bytearray(read_bytes(sample_path("CT_small.dcm")))
    data[128:132] = b"DICX"
    assert "DICM" in _rejected(bytes(data), keys)


@pytest.mark.parametrize("cut", [140, 400, 1000, 3000, 5000, 20000, 39000])
def test_truncated_files(cut: int, keys: PseudonymKeys) -> None:
    data = read_bytes(sample_path("CT_small.dcm"))
    reason = _rejected(data[:cut], keys)
    if cut >= 1000:
        assert "truncated" in reason or "incomplete" in reason, reason


def test_real_truncated_sample(keys: PseudonymKeys) -> None:
    assert "truncated" in _rejected(read_bytes(sample_path("MR_truncated.dcm")), keys)


def test_missing_sop_instance_uid(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    del source.SOPInstanceUID
    source.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    assert _rejected(to_bytes(source), keys) == "missing SOPInstanceUID"
