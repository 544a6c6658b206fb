from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.verify.dicom import date_renderings, verify

from .conftest import parse, read_bytes, sample_path, to_bytes, ultrasound_path


def _ct() -> Dataset:
    return parse(read_bytes(sample_path("CT_small.dcm")))


def _deid(source: Dataset, keys: PseudonymKeys) -> Dataset:
    result = deidentify_dicom(to_bytes(source), keys, "h")
    assert result.status == "ok" and result.output is not None
    return parse(result.output)


def test_clean_output_has_no_findings(keys: PseudonymKeys) -> None:
    source = _ct()
    assert verify(source, _deid(source, keys)) == []


def test_planted_name_in_comments_and_private_tag_is_found(keys: PseudonymKeys) -> None:
    source = _ct()
    output = _deid(source, keys)
    output.ImageComments = "seen by compressedsamples today"  # case-insensitive
    output.add_new(0x00410010, "LO", "LEAKY VENDOR")
    output.add_new(0x00411001, "LO", "1CT1")  # the patient ID, verbatim
    findings = verify(source, output)
    assert "ImageComments" in findings
    assert "(0041,1001)" in findings


def test_planted_values_in_nested_items_and_dates_in_other_forms(keys: PseudonymKeys) -> None:
    source = _ct()
    output = _deid(source, keys)
    item = Dataset()
    item.CodeMeaning = "exam of 01/19/2004"  # StudyDate 20040119, US rendering
    output.AnatomicRegionSequence = Sequence([item])
    output.add_new(0x00431010, "UN", b"JFK IMAGING CENTER\x00")
    findings = verify(source, output)
    assert "AnatomicRegionSequence[0].CodeMeaning" in findings


def test_original_uid_left_anywhere_is_found(keys: PseudonymKeys) -> None:
    source = _ct()
    output = _deid(source, keys)
    output.ReferencedSOPInstanceUID = source.SOPInstanceUID
    assert "ReferencedSOPInstanceUID" in verify(source, output)


def test_name_hidden_in_a_non_profile_attribute_is_quarantined(keys: PseudonymKeys) -> None:
    source = _ct()
    source.BodyPartExamined = "COMPRESSEDSAMPLES"  # not in Table E.1-1: kept by the profile
    result = deidentify_dicom(to_bytes(source), keys, "h")
    assert result.status == "quarantined"
    assert result.findings == ["BodyPartExamined"]
    assert "BodyPartExamined" in (result.reason or "")
    assert "COMPRESSEDSAMPLES" not in (result.reason or "").upper().replace("BODYPART", "")


def test_ultrasound_private_copies_of_the_name_do_not_survive(keys: PseudonymKeys) -> None:
    data = read_bytes(ultrasound_path("GREYSCALE_IMAGE.dcm"))
    result = deidentify_dicom(data, keys, "h", frozenset({"clean-pixel-data"}))
    assert result.status == "ok" and result.output is not None
    assert b"PATIENTFIVE" not in result.output.upper()
    assert b"2020202020202" not in result.output
    assert verify(parse(data), parse(result.output)) == []


def test_date_renderings() -> None:
    assert "08/29/1951" in date_renderings("19510829")
    assert "1951-08-29" in date_renderings("19510829")
    assert date_renderings("1951") == []


def test_short_name_components_are_caught_side_by_side(keys: PseudonymKeys) -> None:
    source = _ct()
    source.PatientName = "Li^Wu"
    output = _deid(source, keys)
    output.ImageComments = "reviewed with wu li on call"
    output.StudyDescription = "LI follow-up"  # one short component alone: everyday text
    assert verify(source, output) == ["ImageComments"]
