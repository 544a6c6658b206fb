import json
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medshare_ingest.validation import InvalidSubmission, validate_case_report, validate_dicom


def ct_bytes() -> bytes:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    return Path(path).read_bytes()


def test_real_dicom_passes() -> None:
    validate_dicom(ct_bytes())


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda data: b"not dicom at all", "preamble"),
        (lambda data: data[:128] + b"XXXX" + data[132:], "preamble"),
        (lambda data: data[:400], "malformed|invalid|SOP"),
    ],
)
def test_bad_dicom_refused_with_reason(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidSubmission, match=reason):
        validate_dicom(mutate(ct_bytes()))


def test_missing_sop_instance_uid_refused() -> None:
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(ct_bytes()))
    del dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(InvalidSubmission, match="SOP Instance UID"):
        validate_dicom(buffer.getvalue())


def test_case_report_missing_field_is_named() -> None:
    report = {"report_id": "r1", "encounter_date": "2024-01-01", "patient": {"name": "A B"}}
    with pytest.raises(InvalidSubmission, match=r"patient\.patient_id"):
        validate_case_report(json.dumps(report).encode())


def test_case_report_invalid_json_says_where() -> None:
    with pytest.raises(InvalidSubmission, match="line 1 column"):
        validate_case_report(b'{"report_id": ')


def test_reason_never_echoes_values() -> None:
    report = {
        "report_id": "r1",
        "encounter_date": "not-a-date",
        "patient": {"patient_id": "X", "name": "Quimby Rosalind"},
    }
    with pytest.raises(InvalidSubmission) as raised:
        validate_case_report(json.dumps(report).encode())
    assert "encounter_date" in str(raised.value)
    assert "Quimby" not in str(raised.value)
