from __future__ import annotations

import hashlib
import json

import pytest
from pydicom.datadict import tag_for_keyword

from medshare_anonymizer.dicom.options import OPTIONS, validate_options
from medshare_anonymizer.dicom.profile import (
    DEFAULT_REFERENCE,
    PROFILE_DIR,
    PROFILE_FILE,
    ProfileRow,
    action_table,
    build_profile,
    load_profile,
    render,
    resolve_action,
    resolve_combined,
)

# An unmodified copy of the standard's table (innolitics/dicom-standard, MIT).
REFERENCE = PROFILE_DIR / "reference" / "confidentiality_profile_attributes.json"

ALL_OPTIONS = [
    "retain-safe-private",
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-long-full-dates",
    "retain-long-modified-dates",
    "clean-descriptors",
    "clean-structured-content",
    "clean-graphics",
    "clean-pixel-data",
    "clean-recognizable-visual-features",
]


def tag(keyword: str) -> int:
    value = tag_for_keyword(keyword)
    assert value is not None
    return int(value)


def test_every_reference_row_is_in_the_project_table_with_the_same_actions() -> None:
    raw = REFERENCE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == load_profile().provenance["reference_sha256"]
    reference = json.loads(raw)
    assert len(reference) == 621
    profile = load_profile()
    assert profile.edition == "2024"
    by_tag = {row.tag: row for row in profile.rows}
    assert len(by_tag) == 621
    columns = {o.column: o.name for o in OPTIONS.values() if o.column}
    for ref in reference:
        key = "private" if "GGGG" in ref["tag"] else ref["tag"].upper()
        row = by_tag[key]
        assert row.basic == ref["basicProfile"], ref["tag"]
        expected = {columns[k]: v for k, v in ref.items() if k in columns}
        assert row.options == expected, ref["tag"]


def test_the_committed_table_is_exactly_what_the_builder_makes_from_the_reference() -> None:
    raw = DEFAULT_REFERENCE.read_bytes()
    rebuilt = build_profile(json.loads(raw), hashlib.sha256(raw).hexdigest())
    assert render(rebuilt) == PROFILE_FILE.read_text(encoding="utf-8")


def test_profile_records_provenance() -> None:
    profile = load_profile()
    assert "innolitics" in profile.provenance["extracted_by"]
    assert len(profile.provenance["reference_sha256"]) == 64


def test_option_names_and_codes() -> None:
    assert sorted(OPTIONS) == sorted(ALL_OPTIONS)
    assert sorted(o.code for o in OPTIONS.values()) == [str(c) for c in range(113101, 113113)]


def test_unknown_option_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="retain-everything"):
        action_table(frozenset({"retain-everything"}))
    with pytest.raises(ValueError, match="mutually exclusive"):
        validate_options({"retain-long-full-dates", "retain-long-modified-dates"})


def test_combined_code_fallback_rule() -> None:
    assert resolve_combined("X/Z", "AcquisitionDate") == "X"
    assert resolve_combined("X/Z/D", "StationName") == "X"
    assert resolve_combined("X/Z/D", "OperatorsName") == "Z"  # Type 2 in RT Series
    assert resolve_combined("X/Z/D", "InstitutionName") == "D"  # Type 1 in an IOD
    assert resolve_combined("Z/D", "PatientID") == "Z"  # Type 2
    assert resolve_combined("Z/D", "ContentDate") == "D"  # Type 1 in SR
    assert resolve_combined("X/Z/U*", "ReferencedImageSequence") == "U"
    assert resolve_combined("X/Z/U*", "SomethingElse") == "X"


def test_temporal_option_beats_device_identity() -> None:
    row = ProfileRow("(0018,1200)", "Date of Last Calibration", "DateOfLastCalibration", "X",
                     {"retain-device-identity": "K", "retain-long-full-dates": "K",
                      "retain-long-modified-dates": "C"})  # fmt: skip
    assert resolve_action(row, frozenset()) == "X"
    assert resolve_action(row, frozenset({"retain-device-identity"})) == "K"
    both = frozenset({"retain-device-identity", "retain-long-modified-dates"})
    assert resolve_action(row, both) == "C"


def test_basic_actions_and_wildcards() -> None:
    table = action_table()
    assert table.action_for(tag("PatientName")) == "Z"
    assert table.action_for(tag("SOPInstanceUID")) == "U"
    assert table.action_for(tag("FrameOfReferenceUID")) == "U"
    assert table.action_for(tag("SOPClassUID")) is None  # kept, never remapped
    assert table.action_for(tag("Rows")) is None
    assert table.action_for(0x50020000 | 0x3000) == "X"  # (50XX,XXXX) curve data
    assert table.action_for(0x60023000) == "X"  # (60XX,3000) overlay data, group 6002
    assert table.action_for(0x601E4000) == "X"  # (60XX,4000) overlay comments
    assert table.action_for(0x60000010) is None  # overlay rows: not listed
    assert table.action_for(0x00091001) == "X"  # private
    assert action_table({"retain-safe-private"}).private == "C"
    assert action_table({"clean-graphics"}).action_for(0x60023000) == "C"


@pytest.mark.parametrize(
    ("option", "keyword", "without", "with_option"),
    [
        ("retain-uids", "StudyInstanceUID", "U", "K"),
        ("retain-device-identity", "DeviceSerialNumber", "D", "K"),  # Type 1: X/Z/D -> D
        ("retain-device-identity", "StationName", "X", "K"),
        ("retain-institution-identity", "InstitutionAddress", "X", "K"),
        ("retain-patient-characteristics", "PatientSex", "Z", "K"),
        ("retain-long-full-dates", "StudyDate", "Z", "K"),
        ("retain-long-modified-dates", "StudyDate", "Z", "C"),
        ("clean-descriptors", "StudyDescription", "X", "C"),
        ("clean-structured-content", "ContentSequence", "D", "C"),
        ("clean-graphics", "GraphicAnnotationSequence", "D", "C"),
    ],
)
def test_each_attribute_option_changes_its_rows(
    option: str, keyword: str, without: str, with_option: str
) -> None:
    assert action_table().action_for(tag(keyword)) == without
    assert action_table({option}).action_for(tag(keyword)) == with_option


def test_action_tables_are_cached_per_option_set() -> None:
    assert action_table({"clean-descriptors"}) is action_table(frozenset({"clean-descriptors"}))


def test_dates_and_uids_the_table_does_not_list_are_treated_like_listed_ones() -> None:
    expiry, study_update = tag("ExpiryDate"), tag("StudyUpdateDateTime")
    assert action_table().action_for(expiry) == "X"
    assert action_table({"retain-long-modified-dates"}).action_for(study_update) == "C"
    assert action_table({"retain-long-full-dates"}).action_for(expiry) == "K"
    assert action_table().action_for(tag("MultiFrameSourceSOPInstanceUID")) == "U"
    assert action_table({"retain-uids"}).action_for(tag("MultiFrameSourceSOPInstanceUID")) == "K"
