"""The byte-level engine checked from the outside, with pydicom as the independent reader."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from deid_data.data import get_dataset
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian

from medshare_anonymizer.dicom.checks import kept_empty
from medshare_anonymizer.dicom.deid_method import IMPLEMENTATION_CLASS_UID, METHOD_NAME
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.dicom.options import OPTIONS
from medshare_anonymizer.dicom.part10 import (
    IMPLICIT_LITTLE,
    DicomFormatError,
    UnsupportedEncoding,
    parse_part10,
    read_part10,
    walk_elements,
)
from medshare_anonymizer.dicom.profile import action_table
from medshare_anonymizer.dicom.view import DatasetView
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.verify.dicom import verify_bytes

from .conftest import SECRET, parse, read_bytes, sample_path, to_bytes


def corpus() -> list[Path]:
    """Every DICOM file of pydicom's test files, pydicom-data and deid-data ultrasounds."""
    from medshare_infra.samples import sample_dicom_files

    ultrasounds = sorted(Path(str(get_dataset("ultrasounds"))).glob("*.dcm"))
    return sample_dicom_files() + ultrasounds


def walk(ds: Dataset, path: str = "") -> Iterator[tuple[str, DataElement]]:
    for element in ds:
        here = (
            f"{path}.{element.keyword or element.tag}"
            if path
            else str(element.keyword or element.tag)
        )
        yield here, element
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                yield from walk(item, f"{here}[{index}]")


INSERTED = {0x00120062, 0x00120063, 0x00120064, 0x00280301, 0x00280302, 0x00280303}
CODE_ITEM_TAGS = {0x00080100, 0x00080102, 0x00080104}
META_TAGS = [0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013]


@pytest.mark.parametrize(
    "options",
    [(), ("retain-long-modified-dates",), ("clean-pixel-data", "retain-safe-private",
                                           "clean-descriptors", "clean-structured-content")],
)  # fmt: skip
def test_every_released_corpus_file_obeys_the_action_table(options: tuple[str, ...]) -> None:
    """pydicom reads every output, and each element is what its action says it must be."""
    keys = PseudonymKeys(SECRET)
    table = action_table(frozenset(options))
    released = 0
    for path in corpus():
        data = path.read_bytes()
        result = deidentify_dicom(data, keys, "h", frozenset(options))
        assert result.status in ("ok", "quarantined", "rejected"), path.name
        if result.status != "ok":
            assert result.output is None and result.reason, path.name
            continue
        released += 1
        assert result.output is not None
        out = parse(result.output)
        assert [int(e.tag) for e in out.file_meta] == META_TAGS, path.name
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        assert out.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
        assert out.PatientIdentityRemoved == "YES"
        emptied = kept_empty(DatasetView(read_part10(data)))
        for where, element in walk(out):
            tag = int(element.tag)
            action = table.action_for(tag)
            if tag in INSERTED or (tag in CODE_ITEM_TAGS and "DeidentificationMethod" in where):
                continue
            assert tag & 0xFFFF != 0, (path.name, where)  # no stale group lengths
            if element.tag.is_private:
                assert "retain-safe-private" in options, (path.name, where)
                continue
            if action == "X" and tag in emptied:  # the IOD needs it: Z instead (X/Z/D)
                assert not element.value, (path.name, where)
            elif action == "X":
                pytest.fail(f"{path.name}: {where} should have been removed")
            if action == "U" and element.VR == "UI" and element.value:
                values = element.value if element.VM > 1 else [element.value]
                assert all(v.startswith(("2.25.", "1.2.840.10008.")) for v in values), where
            if action == "Z" and element.VR != "SQ" and tag not in (0x00100010, 0x00100020):
                assert element.value in ("", None, b"") or tag in (0x00080050, 0x00200010), where
        assert verify_bytes(data, result.output, frozenset(options)) == []
    assert released >= 40


def _pydicom_tags(ds: Dataset) -> Iterator[tuple[int, str]]:
    for element in ds:
        yield int(element.tag), element.VR
        if element.VR == "SQ":
            for item in element.value:
                yield from _pydicom_tags(item)


def test_parser_finds_the_same_elements_as_pydicom_across_the_corpus() -> None:
    compared = 0
    for path in corpus():
        data = path.read_bytes()
        try:
            part = parse_part10(data)
        except (DicomFormatError, UnsupportedEncoding):
            continue  # rejected or left to pydicom: covered by the corpus test above
        ours = [(e.tag, e.vr) for e in walk_elements(part.elements)]
        theirs = list(_pydicom_tags(parse(data)))
        assert [tag for tag, _ in ours] == [tag for tag, _ in theirs], path.name
        explicit = part.encoding.explicit
        # VRs agree where the file states them (private creators sent as UN stay UN).
        assert all(a == b for (tag, a), (_, b) in zip(ours, theirs, strict=True)
                   if explicit and b != "UN" and not (tag >> 16) & 1), path.name  # fmt: skip
        compared += 1
    assert compared >= 120


@pytest.mark.parametrize(
    ("name", "syntax"),
    [("MR_small_implicit.dcm", "1.2.840.10008.1.2"),
     ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
     ("MR_small.dcm", "1.2.840.10008.1.2.1"), ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5")],
)  # fmt: skip
def test_each_dataset_encoding_is_written_back_in_its_own_syntax(
    name: str, syntax: str, keys: PseudonymKeys
) -> None:
    data = read_bytes(sample_path(name))
    source = parse(data)
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    assert out.file_meta.TransferSyntaxUID == syntax
    assert (out.Rows, out.Columns, out.BitsAllocated) == (source.Rows, source.Columns, 16)
    assert (out.pixel_array == source.pixel_array).all()
    assert out.SeriesInstanceUID == keys.uid(source.SeriesInstanceUID)
    assert str(out.PatientName) == keys.patient_pseudonym("h", str(source.PatientID))


def test_deflated_dataset_is_inflated_and_deflated_again(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    source.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    data = to_bytes(source)
    assert b"CompressedSamples" not in data  # the dataset really is deflated
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    assert out.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    assert out.PixelData == source.PixelData and out.StudyDate == ""
    assert verify_bytes(data, result.output) == []


def test_sequence_sent_as_un_is_walked_and_stays_un(keys: PseudonymKeys) -> None:
    data = read_bytes(sample_path("rtdose_rle_1frame.dcm"))
    (plan,) = [e for e in parse_part10(data).elements if e.tag == 0x300C0002]
    assert plan.vr == "SQ" and plan.items and plan.items_encoding is IMPLICIT_LITTLE
    assert data[plan.start + 4 : plan.start + 6] == b"UN"  # ReferencedRTPlanSequence as UN
    source = parse(data)
    referenced = source.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID
    result = deidentify_dicom(data, keys, "h")
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    assert out.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == keys.uid(referenced)
    (written,) = [e for e in parse_part10(result.output).elements if e.tag == 0x300C0002]
    assert written.items_encoding is IMPLICIT_LITTLE and len(written.items or []) == 1


def test_out_of_order_elements_are_normalised(keys: PseudonymKeys) -> None:
    data = read_bytes(sample_path("CT_small.dcm"))
    part = parse_part10(data)
    first, second = part.elements[3], part.elements[4]  # two adjacent top-level elements
    swapped = (data[: first.start] + data[second.start : second.end]
               + data[first.start : first.end] + data[second.end :])  # fmt: skip
    with pytest.raises(UnsupportedEncoding):
        parse_part10(swapped)
    result = deidentify_dicom(swapped, keys, "h")
    expected = deidentify_dicom(data, keys, "h")
    assert result.status == "ok" and result.output is not None and expected.output is not None
    assert parse(result.output) == parse(expected.output)


def test_private_creator_written_only_for_its_surviving_block(keys: PseudonymKeys) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    for tag in [e.tag for e in source if e.tag.is_private]:
        del source[tag]
    source.add_new(0x00190010, "LO", "ACME UNKNOWN")  # block 10: nothing is safe
    source.add_new(0x00190011, "LO", "SIEMENS MR HEADER")  # block 11: 0C is safe
    source.add_new(0x00191001, "LO", "secret one")
    source.add_new(0x0019110C, "IS", "800")
    source.add_new(0x00191108, "LO", "not on the list")
    result = deidentify_dicom(to_bytes(source), keys, "h", frozenset({"retain-safe-private"}))
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    private = {int(e.tag): e.value for e in out if e.tag.is_private}
    assert private == {0x00190011: "SIEMENS MR HEADER", 0x0019110C: "800"}
    block = out.private_block(0x0019, "SIEMENS MR HEADER")
    assert block[0x0C].value == "800"


@pytest.mark.parametrize(
    ("left_out", "temporal"),
    [("retain-long-full-dates", "MODIFIED"), ("retain-long-modified-dates", "UNMODIFIED")],
)
def test_method_is_recorded_and_replaces_source_values(
    left_out: str, temporal: str, keys: PseudonymKeys
) -> None:
    """All twelve options across the two runs (the temporal ones exclude each other)."""
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    source.PatientIdentityRemoved = "NO"
    source.DeidentificationMethod = "hand edited"
    source.BodyPartExamined = "CHEST"
    chosen = frozenset(OPTIONS) - {left_out}
    result = deidentify_dicom(to_bytes(source), keys, "h", chosen)
    assert result.status == "ok", result.reason
    assert result.output is not None
    out = parse(result.output)
    assert out.PatientIdentityRemoved == "YES"
    assert list(out.DeidentificationMethod) == [METHOD_NAME, *sorted(chosen)]
    items = out.DeidentificationMethodCodeSequence
    expected = ["113100", *sorted(OPTIONS[name].code for name in chosen)]
    assert [item.CodeValue for item in items] == expected
    assert {item.CodingSchemeDesignator for item in items} == {"DCM"}
    assert items[0].CodeMeaning == "Basic Application Confidentiality Profile"
    assert [item.CodeMeaning for item in items[1:]] == [
        OPTIONS[name].meaning for name in sorted(chosen, key=lambda n: OPTIONS[n].code)
    ]
    assert out.LongitudinalTemporalInformationModified == temporal
    assert out.RecognizableVisualFeatures == "NO"


def _combined(date: str, time: str) -> datetime:
    return datetime.strptime(date + time.split(".")[0].ljust(6, "0"), "%Y%m%d%H%M%S")


def test_date_shift_keeps_every_date_time_pair_and_datetime_consistent(
    keys: PseudonymKeys,
) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    source.SeriesDate, source.SeriesTime = "20040119", "235959"
    source.AcquisitionDateTime = "20040119235959.5+0100"
    source.add(DataElement(0x00181012, "DA", "20031231"))  # DateOfSecondaryCapture
    result = deidentify_dicom(to_bytes(source), keys, "h",
                              frozenset({"retain-long-modified-dates"}))  # fmt: skip
    assert result.status == "ok" and result.output is not None
    out = parse(result.output)
    shift = timedelta(days=keys.date_shift_days(keys.patient_pseudonym("h", "1CT1")))
    pairs = [("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime"),
             ("ContentDate", "ContentTime")]  # fmt: skip
    for date, time in pairs:
        before = _combined(source[date].value, source[time].value)
        assert _combined(out[date].value, out[time].value) - before == shift, date
    assert out.AcquisitionDateTime[8:] == "235959.5+0100"
    assert _combined(out.AcquisitionDateTime[:8], "") - _combined("20040119", "") == shift
    assert out.DateOfSecondaryCapture == (datetime(2003, 12, 31) + shift).strftime("%Y%m%d")
    assert result.actions["shift"] >= 5


def test_retain_uids_that_embed_a_removed_date_are_quarantined(keys: PseudonymKeys) -> None:
    data = (Path(str(get_dataset("ultrasounds"))) / "GREYSCALE_IMAGE.dcm").read_bytes()
    assert "20170302" in str(parse(data).SOPInstanceUID)  # vendor root + timestamp
    options = frozenset({"clean-pixel-data", "retain-uids"})
    result = deidentify_dicom(data, keys, "h", options)
    assert result.status == "quarantined"
    assert (
        "SOPInstanceUID" in result.findings
        and "file_meta.MediaStorageSOPInstanceUID" in result.findings
    )
    assert "20170302" not in (result.reason or "")
    assert deidentify_dicom(data, keys, "h", frozenset({"clean-pixel-data"})).status == "ok"


def test_clean_descriptors_leaves_text_without_identifiers_byte_for_byte(
    keys: PseudonymKeys,
) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    source.StudyDescription = "CT  chest   with contrast"  # odd spacing kept as is
    result = deidentify_dicom(to_bytes(source), keys, "h", frozenset({"clean-descriptors"}))
    assert result.output is not None
    assert parse(result.output).StudyDescription == "CT  chest   with contrast"


def test_planted_leaks_in_a_kept_private_tag_and_a_nested_free_text_are_quarantined(
    keys: PseudonymKeys,
) -> None:
    source = parse(read_bytes(sample_path("CT_small.dcm")))
    source.add_new(0x00190010, "LO", "SIEMENS MR HEADER")
    source.add_new(0x0019100C, "LO", "CompressedSamples")  # a safe-listed slot, misused
    concept = Dataset()
    concept.CodeMeaning = "follow-up of compressedsamples ct1"
    source.AnatomicRegionSequence = Sequence([Dataset()])
    source.AnatomicRegionSequence[0].AnatomicRegionModifierSequence = Sequence([concept])
    data = to_bytes(source)
    result = deidentify_dicom(data, keys, "h", frozenset({"retain-safe-private"}))
    assert result.status == "quarantined" and result.output is None
    assert set(result.findings) == {
        "(0019,100C)",
        "AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].CodeMeaning",
    }
    assert "compressedsamples" not in (result.reason or "").lower()


def test_verifier_and_parser_never_quote_values_in_errors(keys: PseudonymKeys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = dcmread(io.BytesIO(read_bytes(sample_path("CT_small.dcm"))))
    data = to_bytes(source)
    cut = data[: data.index(b"CompressedSamples") + 5]
    result = deidentify_dicom(cut, keys, "h")
    assert result.status == "rejected" and "truncated" in (result.reason or "")
    assert "Compre" not in (result.reason or "")
