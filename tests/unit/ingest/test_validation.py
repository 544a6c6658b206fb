import io
import json
import random
import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from medshare_ingest.limits import IngestLimits
from medshare_ingest.validation import (
    FHIR_JSON,
    IMAGE_SOP_CLASSES,
    InvalidSubmission,
    check_case_report,
    validate_case_report,
    validate_dicom,
)


def sample_bytes(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path).read_bytes()


def ct_bytes() -> bytes:
    return sample_bytes("CT_small.dcm")


def test_real_dicom_passes_and_says_what_it_is() -> None:
    facts = validate_dicom(ct_bytes())
    assert facts.sop_class_uid == CTImageStorage
    assert facts.transfer_syntax_uid == ExplicitVRLittleEndian
    assert facts.sop_instance_uid and facts.study_instance_uid


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda data: b"not dicom at all", "preamble"),
        (lambda data: data[:128] + b"XXXX" + data[132:], "preamble"),
        (lambda data: data[:400], "SOP Instance UID"),  # cut between two elements
        (lambda data: data[:-3], "truncated|malformed"),
        (lambda data: data + b"\x00\x00", "bytes left after the last element"),
    ],
)
def test_bad_dicom_refused_with_reason(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidSubmission, match=reason) as raised:
        validate_dicom(mutate(ct_bytes()))
    assert raised.value.http_status == 422


def test_wrong_vr_length_names_the_element() -> None:
    data = bytearray(sample_bytes("MR_small.dcm"))
    rows = data.index(b"\x28\x00\x10\x00US\x02\x00")
    data[rows + 6 : rows + 8] = struct.pack("<H", 3)
    with pytest.raises(InvalidSubmission, match=r"\(0028,0010\)"):
        validate_dicom(bytes(data))


def test_sequence_cut_before_its_delimiter_is_refused() -> None:
    # An undefined-length sequence read to the end of the data: pydicom only logs it.
    data = sample_bytes("rtplan.dcm")
    dataset = pydicom.dcmread(io.BytesIO(data))
    assert any(element.VR == "SQ" for element in dataset)
    refused = 0
    for cut in range(1000, len(data) - 1, 97):
        try:
            validate_dicom(data[:cut])
        except InvalidSubmission:
            refused += 1
    assert refused == len(range(1000, len(data) - 1, 97))


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm", "US1_J2KR.dcm"]
)
def test_image_files_cut_anywhere_are_refused(name: str) -> None:
    data = sample_bytes(name)
    assert validate_dicom(data).sop_class_uid in IMAGE_SOP_CLASSES
    rng = random.Random(name)
    for cut in sorted(rng.sample(range(132, len(data) - 1), 60)):
        with pytest.raises(InvalidSubmission):
            validate_dicom(data[:cut])


def test_missing_sop_instance_uid_refused() -> None:
    dataset = pydicom.dcmread(io.BytesIO(ct_bytes()))
    del dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(InvalidSubmission, match="SOP Instance UID"):
        validate_dicom(buffer.getvalue())


def test_limits_pick_the_refusal_kind() -> None:
    data = ct_bytes()
    with pytest.raises(InvalidSubmission, match="MEDSHARE_MAX_OBJECT_BYTES") as too_big:
        validate_dicom(data, IngestLimits(max_object_bytes=len(data) - 1))
    assert too_big.value.http_status == 413
    with pytest.raises(InvalidSubmission, match=r"SOP class 1\.2\.840") as sop:
        validate_dicom(data, IngestLimits(sop_classes=frozenset({"1.2.3"})))
    assert sop.value.kind == "unsupported_sop_class" and sop.value.http_status == 415
    with pytest.raises(InvalidSubmission, match="transfer syntax") as syntax:
        validate_dicom(data, IngestLimits(transfer_syntaxes=frozenset({"1.2.840.10008.1.2"})))
    assert syntax.value.kind == "unsupported_transfer_syntax"


def test_refusals_never_quote_element_values() -> None:
    dataset = pydicom.dcmread(io.BytesIO(ct_bytes()))
    dataset.PatientName = "Quimby^Rosalind"
    dataset.SOPClassUID = "Quimby Rosalind"  # junk where a UID belongs
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(InvalidSubmission) as raised:
        validate_dicom(buffer.getvalue())
    assert "Quimby" not in str(raised.value)
    assert "not a valid UID" in str(raised.value)


def test_case_report_missing_field_is_named() -> None:
    report = {"report_id": "r1", "encounter_date": "2024-01-01", "patient": {"name": "A B"}}
    with pytest.raises(InvalidSubmission, match=r"patient\.patient_id"):
        validate_case_report(json.dumps(report).encode())


def test_case_report_invalid_json_says_where() -> None:
    with pytest.raises(InvalidSubmission, match="line 1 column"):
        validate_case_report(b'{"report_id": ')


def test_reason_never_echoes_values_or_unknown_keys() -> None:
    report = {
        "report_id": "r1",
        "encounter_date": "not-a-date",
        "patient": {"patient_id": "X", "name": "Quimby Rosalind", "Featherstonehaugh": 1},
        "cytology": {"Zebulon": "abc"},
    }
    with pytest.raises(InvalidSubmission) as raised:
        validate_case_report(json.dumps(report).encode())
    message = str(raised.value)
    assert "encounter_date" in message and "patient.*" in message and "cytology.*" in message
    for value in ("Quimby", "Featherstonehaugh", "Zebulon", "not-a-date"):
        assert value not in message


def fhir(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


PATIENT = {"resource": {"resourceType": "Patient", "id": "p", "name": [{"family": "Q"}],
                        "identifier": [{"value": "M-1"}]}}  # fmt: skip
ENCOUNTER = {"resource": {"resourceType": "Encounter", "status": "finished",
                          "class": {"code": "AMB"}, "period": {"start": "2024-03-05"}}}  # fmt: skip


def test_fhir_bundle_checked_and_stored_as_fhir() -> None:
    assert check_case_report(fhir([PATIENT, ENCOUNTER]), FHIR_JSON) == FHIR_JSON
    # Resources a case report does not read are accepted (and skipped).
    claim = {"resource": {"resourceType": "Claim", "status": "active"}}
    assert check_case_report(fhir([PATIENT, ENCOUNTER, claim]), FHIR_JSON) == FHIR_JSON
    # Sent as plain JSON, a Bundle is still recognised by its resourceType.
    assert check_case_report(fhir([PATIENT, ENCOUNTER]), "application/json") == FHIR_JSON


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        ([PATIENT, ENCOUNTER, {"resource": {"status": "active"}}], "resourceType is required"),
        ([PATIENT, {"resource": {"resourceType": "Encounter", "class": {"code": "AMB"}}}],
         r"Bundle\.entry\[1\]\.resource\(Encounter\)\.status"),
        ([ENCOUNTER], "exactly one Patient"),
    ],
)  # fmt: skip
def test_fhir_problems_name_the_field(entries: list[dict[str, object]], named: str) -> None:
    with pytest.raises(InvalidSubmission, match=named) as raised:
        check_case_report(fhir(entries), FHIR_JSON)
    assert raised.value.http_status == 422
