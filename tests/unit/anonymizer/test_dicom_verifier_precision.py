"""The verifier's precision: correct outputs are not quarantined (issue-level cases).

Each case is a correct de-identification that an earlier verifier flagged: text the
anonymizer wrote, dates after the patient's shift, name parts equal to coded values,
values the options retain inside sequences, SRs under clean-structured-content.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.dicom.part10 import parse_part10, read_part10
from medshare_anonymizer.dicom.profile import action_table
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.verify.dicom import collect_needles, find_leaks

from .conftest import parse, read_bytes, sample_path, to_bytes


def _ct() -> Dataset:
    return parse(read_bytes(sample_path("CT_small.dcm")))


def _run(source: Dataset, keys: PseudonymKeys, *options: str) -> tuple[str, list[str]]:
    result = deidentify_dicom(to_bytes(source), keys, "h", frozenset(options))
    return result.status, result.findings


def test_text_the_anonymizer_writes_is_not_scanned(keys: PseudonymKeys) -> None:
    source = _ct()
    source.PatientName = "Annex^Medshare"  # both words of the De-identification Method
    assert _run(source, keys) == ("ok", [])


def test_a_date_equal_to_another_source_date_plus_the_patients_shift_is_no_leak(
    keys: PseudonymKeys,
) -> None:
    source = _ct()
    source.StudyDate = "20200110"
    first = deidentify_dicom(to_bytes(source), keys, "h",
                             frozenset({"retain-long-modified-dates"}))  # fmt: skip
    assert first.patient_pseudonym is not None
    shift = keys.date_shift_days(first.patient_pseudonym)
    shifted = date(2020, 1, 10) + timedelta(days=shift)
    source.SeriesDate = shifted.strftime("%Y%m%d")  # the output's StudyDate equals it
    source.ContentDate = "20200110"
    status, findings = _run(source, keys, "retain-long-modified-dates")
    assert (status, findings) == ("ok", [])
    # An unshifted copy of a source date is still found.
    table = action_table(frozenset({"retain-long-modified-dates"}))
    needles = collect_needles(read_part10(to_bytes(source)), table, shift)
    assert first.output is not None
    output = parse(first.output)
    output.ImageComments = "seen 2020-01-10"
    assert find_leaks(parse_part10(to_bytes(output)), needles) == ["ImageComments"]


def test_name_parts_match_whole_coded_values_not_fragments(keys: PseudonymKeys) -> None:
    source = _ct()
    source.PatientName = "Test^Perfusion Here"
    source.ImageType = ["DERIVED", "PRIMARY", "PERFUSION"]
    source.Manufacturer = "Built Here Medical"
    source.InstitutionName = "Here"  # removed; a word inside the Manufacturer
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "T-1", "TEST", "Test code"
    source.AnatomicRegionSequence = Sequence([code])
    assert _run(source, keys) == ("ok", [])
    # A name part that is no word, as a whole coded value, is still a leak.
    source.BodyPartExamined = "ZYXWVUTSQ"
    source.PatientName = "Zyxwvutsq^Perfusion"
    assert _run(source, keys) == ("quarantined", ["BodyPartExamined"])


def test_values_retained_by_an_option_inside_sequences_are_no_leak(keys: PseudonymKeys) -> None:
    source = _ct()
    source.InstitutionName = "Riverside General"
    source.PerformedLocation = "Riverside General"  # removed: its value is a needle
    item = Dataset()
    item.InstitutionName = "Riverside General"
    source.SharedFunctionalGroupsSequence = Sequence([item])
    assert _run(source, keys, "retain-institution-identity") == ("ok", [])
    assert _run(source, keys)[0] == "ok"  # removed everywhere without the option


def test_structured_reports_are_released_under_clean_structured_content(
    keys: PseudonymKeys,
) -> None:
    for name in ("reportsi.dcm", "test-SR.dcm", "reportsi_with_empty_number_tags.dcm"):
        data = read_bytes(sample_path(name))
        result = deidentify_dicom(data, keys, "h", frozenset({"clean-structured-content"}))
        assert result.status == "ok", (name, result.reason)
        assert result.output is not None
        texts = [item.TextValue for item in parse(result.output).ContentSequence
                 if item.ValueType == "TEXT"]  # fmt: skip
        # reportsi's observer is called "Enter^text" and its text says "Enter text":
        # the cleaned text no longer carries the name.
        assert all("Enter text" not in text for text in texts), name
