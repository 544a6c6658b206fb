from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from medshare_anonymizer.dicom.cli import REPORT_NAME, dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys

from .conftest import SECRET, parse, read_bytes, sample_path, ultrasound_path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small tree: two good images (one nested, one without suffix), an ultrasound
    with burned-in text, a truncated file and a file that is not DICOM at all."""
    root = tmp_path / "src"
    (root / "study" / "series").mkdir(parents=True)
    shutil.copy(sample_path("CT_small.dcm"), root / "ct.dcm")
    shutil.copy(sample_path("MR_small.dcm"), root / "study" / "series" / "IM0001")
    shutil.copy(ultrasound_path("GREYSCALE_IMAGE.dcm"), root / "study" / "us.dcm")
    (root / "study" / "cut.dcm").write_bytes(read_bytes(sample_path("CT_small.dcm"))[:5000])
    (root / "README.txt").write_text("not an image")
    return root


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(dicom, [str(a) for a in args], env=env or {})


def report_lines(destination: Path) -> dict[str, dict[str, object]]:
    lines = (destination / REPORT_NAME).read_text().splitlines()
    return {entry["source"]: entry for entry in map(json.loads, lines)}


def test_every_dicom_file_gets_a_report_line_and_ok_ones_a_mirrored_output(
    source: Path, secret_file: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out"
    result = run(source, destination, "--secret-file", secret_file)
    assert result.exit_code == 0, result.output
    assert "4 DICOM files: 2 ok, 1 quarantined, 1 rejected" in result.output
    lines = report_lines(destination)
    assert set(lines) == {"ct.dcm", "study/series/IM0001", "study/us.dcm", "study/cut.dcm"}
    ct = lines["ct.dcm"]
    assert ct["status"] == "ok" and ct["output"] == "ct.dcm" and ct["reason"] is None
    assert isinstance(ct["actions"], dict) and ct["actions"]["X"] > 0 and ct["actions"]["U"] >= 3
    assert lines["study/series/IM0001"]["output"] == "study/series/IM0001"
    assert lines["study/us.dcm"]["status"] == "quarantined"
    assert "text read in pixels" in str(lines["study/us.dcm"]["reason"])
    assert lines["study/cut.dcm"]["status"] == "rejected"
    assert "truncated" in str(lines["study/cut.dcm"]["reason"])
    written = sorted(p.relative_to(destination).as_posix() for p in destination.rglob("*"))
    assert written == ["ct.dcm", REPORT_NAME, "study", "study/series", "study/series/IM0001"]
    out = parse((destination / "ct.dcm").read_bytes())
    keys = PseudonymKeys(SECRET)
    assert out.PatientID == keys.patient_pseudonym("local", "1CT1")
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"  # the service default
    assert b"CompressedSamples" not in (destination / "ct.dcm").read_bytes()


def test_options_profile_only_institution_and_secret_from_the_environment(
    source: Path, secret_file: Path, tmp_path: Path
) -> None:
    env = {"MEDSHARE_ANONYMIZER_SECRET_FILE": str(secret_file)}
    basic = run(source, tmp_path / "basic", "--profile-only", "--institution", "h2", env=env)
    assert basic.exit_code == 0, basic.output
    out = parse((tmp_path / "basic" / "ct.dcm").read_bytes())
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert [item.CodeValue for item in out.DeidentificationMethodCodeSequence] == ["113100"]
    assert out.PatientID == PseudonymKeys(SECRET).patient_pseudonym("h2", "1CT1")
    cleaned = run(source, tmp_path / "clean", "--option", "clean-pixel-data",
                  "--option", "retain-device-identity", env=env)  # fmt: skip
    assert cleaned.exit_code == 0, cleaned.output
    assert report_lines(tmp_path / "clean")["study/us.dcm"]["status"] == "ok"
    out = parse((tmp_path / "clean" / "ct.dcm").read_bytes())
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113101", "113109"]
    assert out.LongitudinalTemporalInformationModified == "REMOVED"


def test_worker_processes_give_byte_identical_results(
    source: Path, secret_file: Path, tmp_path: Path
) -> None:
    one = run(source, tmp_path / "one", "--secret-file", secret_file)
    two = run(source, tmp_path / "two", "--secret-file", secret_file, "--workers", "2")
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert report_lines(tmp_path / "one") == report_lines(tmp_path / "two")
    for name in ("ct.dcm", "study/series/IM0001"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--option", "retain-everything"], "retain-everything"),
        (["--option", "retain-long-full-dates", "--option", "retain-long-modified-dates"],
         "mutually exclusive"),
        (["--profile-only", "--option", "clean-graphics"], "--profile-only"),
        (["--workers", "0"], "--workers"),
    ],
)  # fmt: skip
def test_bad_options_exit_2_naming_the_problem(
    arguments: list[str], message: str, source: Path, secret_file: Path, tmp_path: Path
) -> None:
    result = run(source, tmp_path / "out", "--secret-file", secret_file, *arguments)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_missing_or_short_secret_missing_src_and_dst_inside_src_exit_2(
    source: Path, secret_file: Path, tmp_path: Path
) -> None:
    no_secret = run(source, tmp_path / "out")
    assert no_secret.exit_code == 2 and "MEDSHARE_ANONYMIZER_SECRET_FILE" in no_secret.output
    short = tmp_path / "short.key"
    short.write_bytes(b"too-short")
    assert run(source, tmp_path / "out", "--secret-file", short).exit_code == 2
    missing = run(tmp_path / "nowhere", tmp_path / "out", "--secret-file", secret_file)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    inside = run(source, source / "out", "--secret-file", secret_file)
    assert inside.exit_code == 2 and "DST must not be inside SRC" in inside.output
    assert not (tmp_path / "out").exists()


def test_a_single_file_as_source(secret_file: Path, tmp_path: Path) -> None:
    single = tmp_path / "one.dcm"
    shutil.copy(sample_path("CT_small.dcm"), single)
    result = run(single, tmp_path / "out", "--secret-file", secret_file)
    assert result.exit_code == 0, result.output
    assert report_lines(tmp_path / "out")["one.dcm"]["output"] == "one.dcm"
    assert (tmp_path / "out" / "one.dcm").is_file()
