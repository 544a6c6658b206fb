from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from click.testing import CliRunner
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medshare_bench.deid import bench_deid
from medshare_bench.deid_handled import Handled, in_profile, values
from medshare_bench.peers.deidentifiers import deid_recipe
from medshare_bench.peers.orthanc import unavailable_reason
from tests.unit.anonymizer.conftest import (
    parse,
    read_bytes,
    sample_path,
    to_bytes,
    ultrasound_path,
)


def _source() -> Dataset:
    ds = parse(read_bytes(sample_path("CT_small.dcm")))
    for tag in [e.tag for e in ds if e.tag.is_private]:
        del ds[tag]
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "private note")
    ds.add_new(0x60003000, "OW", b"\x01\x00" * 8)  # overlay data: a repeating-group row
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = "1.2.3.4.5.6"
    ds.ReferencedImageSequence = Sequence([item])
    return ds


def test_profile_membership_covers_exact_repeating_and_private_rows() -> None:
    assert in_profile(0x00100010)  # PatientName
    assert in_profile(0x60023000) and in_profile(0x601E4000) and in_profile(0x50001234)
    assert in_profile(0x00091001) and not in_profile(0x00090010)  # data, not creator
    assert not in_profile(0x00280010)  # Rows
    assert not in_profile(0x60000010)  # overlay rows: not a profile row


def test_handled_counts_removed_emptied_and_replaced_and_names_what_was_left() -> None:
    source = _source()
    output = _source()
    output.PatientName = "P-0123"  # replaced
    output.StudyDate = ""  # emptied
    del output[0x60003000]  # removed
    # left as they were: the private data element, the referenced UIDs and their sequence
    tally = Handled.compare(values(to_bytes(source), True), values(to_bytes(output), False))
    present = values(to_bytes(source), True)
    assert tally.present == len(present)
    unchanged = dict(tally.unchanged)
    assert unchanged["private"] == 1
    assert unchanged["ReferencedSOPInstanceUID"] == 1
    assert unchanged["ReferencedImageSequence"] == 1
    assert "PatientName" not in unchanged and "StudyDate" not in unchanged
    assert "overlay" not in unchanged
    assert tally.handled == tally.present - sum(unchanged.values())
    both = tally + tally
    assert (both.instances, both.present, both.handled) == (2, 2 * tally.present, 2 * tally.handled)
    assert both.unchanged["private"] == 2


def test_deid_recipe_follows_the_resolved_action_table() -> None:
    recipe = deid_recipe().splitlines()
    assert recipe[:3] == ["FORMAT dicom", "", "%header"]
    assert "BLANK (0010,0010)" in recipe  # PatientName: Z
    assert "REPLACE (0008,0080) ANONYMIZED" in recipe  # InstitutionName: X/Z/D -> D
    assert "REPLACE (0008,0018) deid_func:pydicom_uuid" in recipe  # SOPInstanceUID: U
    assert "BLANK (0008,1070)" in recipe  # OperatorsName: X/Z/D -> Z (Type 2 in RT Series)
    assert not any("XX" in line for line in recipe)


def test_bench_on_a_tiny_corpus_writes_rates_and_handled_attributes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(sample_path(name), corpus / name)
    shutil.copy(ultrasound_path("GREYSCALE_IMAGE.dcm"), corpus / "us.dcm")
    out = tmp_path / "deid.json"
    cores = os.sched_getaffinity(0)
    result = CliRunner().invoke(bench_deid, ["--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert os.sched_getaffinity(0) == cores  # pinned to one core only while measuring
    document = json.loads(out.read_text())
    assert document["benchmark"] == "deid" and document["instances"] == 3
    tools = document["tools"]
    medshare = tools["medshare"]
    assert (medshare["attempted"], medshare["produced"]) == (3, 2)  # the ultrasound is refused
    assert document["medshare_statuses"] == {"ok": 2, "quarantined": 1}
    assert medshare["handled_common"]["handled_fraction"] == 1.0
    assert medshare["all"]["instances_per_second"] > 0 and medshare["all"]["mb_per_second"] > 0
    assert document["common_instances"] >= 1
    assert tools["dicognito"]["produced"] == 3
    # dicognito keeps private attributes: CT_small has some, so it handles less.
    dicognito = tools["dicognito"]["handled_common"]
    assert dicognito["handled"] < medshare["handled_common"]["handled"]
    assert dicognito["unchanged_attributes"]["private"] > 0
    assert tools["deid"]["handled_common"]["present"] == medshare["handled_common"]["present"]
    reason = unavailable_reason()
    if reason is None:
        assert tools["orthanc"]["produced"] >= 2
    else:
        assert tools["orthanc"] == {"unavailable": reason}
    assert set(document["medshare_over_dicognito"]) == {"all", "common"}
    assert out.with_suffix(".png").stat().st_size > 1000


def test_bench_arguments_are_checked(tmp_path: Path) -> None:
    out = str(tmp_path / "x.json")
    without_medshare = CliRunner().invoke(bench_deid, ["--tools", "dicognito", "--out", out])
    assert without_medshare.exit_code == 2 and "choose medshare" in without_medshare.output
    bad_option = CliRunner().invoke(bench_deid, ["--option", "retain-all", "--out", out])
    assert bad_option.exit_code == 2 and "retain-all" in bad_option.output
    empty = tmp_path / "empty"
    empty.mkdir()
    no_files = CliRunner().invoke(bench_deid, ["--corpus", str(empty), "--out", out])
    assert no_files.exit_code == 2 and "no DICOM files" in no_files.output
