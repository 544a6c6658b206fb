from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys

from .conftest import SECRET, parse, read_bytes, sample_path, to_bytes

CT = "CT_small.dcm"  # PatientName CompressedSamples^CT1, PatientID 1CT1, StudyDate 20040119


def ct() -> Dataset:
    return parse(read_bytes(sample_path(CT)))


def run(ds: Dataset | bytes, keys: PseudonymKeys, *options: str) -> Dataset:
    data = ds if isinstance(ds, bytes) else to_bytes(ds)
    result = deidentify_dicom(data, keys, "hospital-a", frozenset(options))
    assert result.status == "ok", (result.reason, result.findings)
    assert result.output is not None
    return parse(result.output)


def test_basic_profile_on_real_ct(keys: PseudonymKeys) -> None:
    source = ct()
    result = deidentify_dicom(to_bytes(source), keys, "hospital-a")
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    pseudonym = keys.patient_pseudonym("hospital-a", "1CT1")
    assert result.patient_pseudonym == pseudonym
    assert out.PatientID == pseudonym and str(out.PatientName) == pseudonym
    assert out.StudyDate == "" and "InstitutionName" in out  # Z; X/Z/D -> D (Type 1)
    assert out.InstitutionName == "ANONYMIZED"
    assert out.SOPClassUID == source.SOPClassUID
    assert out.SOPInstanceUID == keys.uid(source.SOPInstanceUID)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.StudyInstanceUID.startswith("2.25.")
    assert out.FrameOfReferenceUID == keys.uid(source.FrameOfReferenceUID)
    assert not [elem for elem in out if elem.tag.is_private]
    assert out.PatientIdentityRemoved == "YES"
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100"]
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert b"CompressedSamples" not in result.output and b"JFK IMAGING" not in result.output
    assert out.PixelData == source.PixelData
    assert result.actions["X"] > 0 and result.actions["U"] >= 3
    assert result.metadata["modality"] == "CT"
    assert result.metadata["sop_instance_uid"] == out.SOPInstanceUID
    assert result.metadata["rows"] == 128 and result.metadata["study_year"] is None
    assert result.findings == []


def test_accession_and_study_id_get_keyed_surrogates(keys: PseudonymKeys) -> None:
    source = ct()
    source.AccessionNumber = "ACC-778899"
    source.StudyID = "ST-42"
    out = run(source, keys)
    assert out.AccessionNumber == keys.surrogate_id("accession", "ACC-778899")
    assert out.StudyID == keys.surrogate_id("study-id", "ST-42")


def test_nested_sequences_are_processed_at_every_depth(keys: PseudonymKeys) -> None:
    source = ct()
    inner = Dataset()
    inner.ReferencedSOPClassUID = source.SOPClassUID
    inner.ReferencedSOPInstanceUID = "1.2.3.999.1"
    inner.PatientName = "Hidden^Person"
    inner.OperatorsName = "Operator^Olga"
    inner.add_new(0x00190010, "LO", "ACME PRIVATE")
    inner.add_new(0x00191001, "LO", "private secret")
    middle = Dataset()
    middle.ReferencedImageSequence = Sequence([inner])
    middle.StudyDate = "20040119"
    source.DerivationCodeSequence = Sequence([middle])  # a sequence the profile does not list
    out = run(source, keys)
    out_middle = out.DerivationCodeSequence[0]
    out_inner = out_middle.ReferencedImageSequence[0]
    assert out_middle.StudyDate == ""
    assert out_inner.ReferencedSOPInstanceUID == keys.uid("1.2.3.999.1")
    assert out_inner.ReferencedSOPClassUID == source.SOPClassUID
    assert str(out_inner.PatientName) == keys.patient_pseudonym("hospital-a", "1CT1")
    assert out_inner.OperatorsName == ""  # X/Z/D, Type 2 in RT Series: emptied
    assert 0x00191001 not in out_inner and 0x00190010 not in out_inner


def test_repeating_groups_overlays_and_curves(keys: PseudonymKeys) -> None:
    source = ct()
    for group in (0x6000, 0x6002):
        source.add_new((group << 16) | 0x0010, "US", 128)
        source.add_new((group << 16) | 0x3000, "OW", b"\x01\x00" * 64)
        source.add_new((group << 16) | 0x4000, "LT", "overlay note")
    source.add_new(0x50003000, "OW", b"\x00\x01" * 8)
    out = run(source, keys)
    for group in (0x6000, 0x6002):
        assert (group << 16) | 0x3000 not in out
        assert (group << 16) | 0x4000 not in out
        # The rest of the group requires its data: removed with it, never left dangling.
        assert (group << 16) | 0x0010 not in out
    assert 0x50003000 not in out
    kept = run(source, keys, "clean-graphics")
    assert 0x60023000 in kept and 0x60004000 in kept and 0x50003000 in kept
    assert 0x60020010 in kept


def _with_private(source: Dataset) -> Dataset:
    source.add_new(0x00190010, "LO", "SIEMENS MR HEADER")
    source.add_new(0x0019100C, "IS", "1000")  # B value: on the safe list
    source.add_new(0x00191008, "LO", "PATIENT-ISH TEXT")  # not on the list
    source.add_new(0x00290010, "LO", "UNKNOWN VENDOR")
    source.add_new(0x00291001, "LO", "anything")
    return source


def test_private_attributes_removed_by_default(keys: PseudonymKeys) -> None:
    out = run(_with_private(ct()), keys)
    assert not [elem for elem in out if elem.tag.is_private]


def test_retain_safe_private_keeps_only_listed_elements(keys: PseudonymKeys) -> None:
    out = run(_with_private(ct()), keys, "retain-safe-private")
    assert out[0x0019100C].value == 1000 or str(out[0x0019100C].value) == "1000"
    assert out[0x00190010].value == "SIEMENS MR HEADER"
    assert 0x00191008 not in out
    assert 0x00290010 not in out and 0x00291001 not in out
    assert "113111" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]


def test_retain_uids(keys: PseudonymKeys) -> None:
    source = ct()
    out = run(source, keys, "retain-uids")
    assert out.SOPInstanceUID == source.SOPInstanceUID
    assert out.StudyInstanceUID == source.StudyInstanceUID


def test_retain_device_identity(keys: PseudonymKeys) -> None:
    source = ct()
    source.DeviceSerialNumber = "SN-445566"
    source.StationName = "CTROOM2"
    assert "StationName" not in run(source, keys)
    assert run(source, keys).DeviceSerialNumber == "ANONYMIZED"
    out = run(source, keys, "retain-device-identity")
    assert out.DeviceSerialNumber == "SN-445566" and out.StationName == "CTROOM2"


def test_retain_institution_identity(keys: PseudonymKeys) -> None:
    source = ct()
    source.InstitutionAddress = "1 Main Street, Springfield"
    out = run(source, keys, "retain-institution-identity")
    assert out.InstitutionName == "JFK IMAGING CENTER"
    assert out.InstitutionAddress == "1 Main Street, Springfield"
    assert "InstitutionAddress" not in run(source, keys)


def test_retain_patient_characteristics(keys: PseudonymKeys) -> None:
    source = ct()
    source.PatientAge = "067Y"
    source.PatientWeight = 80
    basic = deidentify_dicom(to_bytes(source), keys, "h", frozenset())
    assert basic.metadata["age_band"] is None and basic.metadata["sex"] is None
    result = deidentify_dicom(
        to_bytes(source), keys, "h", frozenset({"retain-patient-characteristics"})
    )
    assert result.output is not None
    out = parse(result.output)
    assert out.PatientSex == "O" and out.PatientAge == "067Y" and out.PatientWeight == 80
    assert result.metadata["age_band"] == "60-69" and result.metadata["sex"] == "O"


def test_retain_long_full_dates(keys: PseudonymKeys) -> None:
    out = run(ct(), keys, "retain-long-full-dates")
    assert out.StudyDate == "20040119"
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_retain_long_modified_dates_shifts_consistently(keys: PseudonymKeys) -> None:
    source = ct()
    source.AcquisitionDateTime = "20040119072730.123+0100"
    out = run(source, keys, "retain-long-modified-dates")
    shift = keys.date_shift_days(keys.patient_pseudonym("hospital-a", "1CT1"))
    expected = (date(2004, 1, 19) + timedelta(days=shift)).strftime("%Y%m%d")
    assert out.StudyDate == expected
    assert out.ContentDate == (date(1997, 4, 30) + timedelta(days=shift)).strftime("%Y%m%d")
    assert out.AcquisitionDateTime == expected + "072730.123+0100"
    assert out.StudyTime == source.StudyTime  # whole-day shift: times unchanged
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_clean_descriptors_scrubs_identifiers(keys: PseudonymKeys) -> None:
    source = ct()
    source.StudyDescription = "CT head for CompressedSamples, MRN 1CT1"
    assert "StudyDescription" not in run(source, keys)
    out = run(source, keys, "clean-descriptors")
    assert "CompressedSamples" not in out.StudyDescription
    assert "1CT1" not in out.StudyDescription
    assert out.StudyDescription.startswith("CT head for")


def test_clean_structured_content_keeps_sr_tree(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("test-SR.dcm")))
    # The sample's patient is called "Test": a word its own codes use, so rename.
    source.PatientName = "Zyxwvut^Qponml"
    data = to_bytes(source)
    assert len(source.ContentSequence) > 0
    # D: one dummy TEXT item, valid under the root container, carrying nothing.
    (dummy,) = run(data, keys).ContentSequence
    assert (dummy.RelationshipType, dummy.ValueType) == ("CONTAINS", "TEXT")
    assert dummy.TextValue == "ANONYMIZED"
    assert dummy.ConceptNameCodeSequence[0].CodeValue == "121106"
    out = run(data, keys, "clean-structured-content")
    assert len(out.ContentSequence) == len(source.ContentSequence)


def test_clean_recognizable_visual_features(keys: PseudonymKeys) -> None:
    source = ct()
    source.BodyPartExamined = "HEAD"
    result = deidentify_dicom(
        to_bytes(source), keys, "h", frozenset({"clean-recognizable-visual-features"})
    )
    assert result.status == "quarantined" and "visual features" in (result.reason or "")
    source.BodyPartExamined = "CHEST"
    out = run(source, keys, "clean-recognizable-visual-features")
    assert out.RecognizableVisualFeatures == "NO"
    assert "113102" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]


def test_unknown_option_raises(keys: PseudonymKeys) -> None:
    with pytest.raises(ValueError, match="no-such-option"):
        deidentify_dicom(b"", keys, "h", frozenset({"no-such-option"}))


def _study(n: int) -> list[Dataset]:
    instances = []
    for index in range(n):
        ds = ct()
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.2.1125.{index + 1}"
        ds.InstanceNumber = index + 1
        instances.append(ds)
    instances[-1].ReferencedImageSequence = Sequence([Dataset()])
    instances[-1].ReferencedImageSequence[0].ReferencedSOPClassUID = instances[0].SOPClassUID
    instances[-1].ReferencedImageSequence[0].ReferencedSOPInstanceUID = instances[0].SOPInstanceUID
    return instances


def test_uids_consistent_across_a_study_and_deterministic_per_secret() -> None:
    study = _study(3)
    first = [run(ds, PseudonymKeys(SECRET), "retain-long-modified-dates") for ds in study]
    again = [run(ds, PseudonymKeys(SECRET), "retain-long-modified-dates") for ds in study]
    other = [run(ds, PseudonymKeys(b"another-secret-xyz")) for ds in study]
    assert len({o.StudyInstanceUID for o in first}) == 1
    assert len({o.SeriesInstanceUID for o in first}) == 1
    assert len({o.FrameOfReferenceUID for o in first}) == 1
    assert len({o.SOPInstanceUID for o in first}) == 3
    reference = first[-1].ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert reference == first[0].SOPInstanceUID
    assert [o.SOPInstanceUID for o in again] == [o.SOPInstanceUID for o in first]
    assert len({o.StudyDate for o in first}) == 1  # one patient, one shift
    assert {o.SOPInstanceUID for o in other}.isdisjoint({o.SOPInstanceUID for o in first})
    assert other[0].PatientID != first[0].PatientID


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "693_J2KI.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "image_dfl.dcm",
    ],
)
def test_compressed_and_other_syntaxes_pass_through_unchanged_pixels(
    name: str, keys: PseudonymKeys
) -> None:
    data = read_bytes(sample_path(name))
    source = parse(data)
    # The deflated secondary capture too: OCR reads no text in it, so it is released.
    out = run(data, keys)
    assert out.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    assert out.PixelData == source.PixelData
    assert (out.pixel_array == source.pixel_array).all()
    assert str(out.PatientName) != str(source.PatientName)
