"""`medshare deid case-reports SRC DST` on files: outputs, the JSONL report, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from medshare_anonymizer.cli import cli
from tests.unit.anonymizer.test_case_report_deid import report_dict
from tests.unit.anonymizer.test_fhir import bundle


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    (folder / "rosalind-quimby.json").write_text(json.dumps(report_dict()))
    (folder / "nested" / "bundle.json").write_text(json.dumps(bundle()))
    leaky = report_dict(diagnoses=[{"code": "C50.9", "system": "urn:quimby"}])
    (folder / "leaky.json").write_text(json.dumps(leaky))
    (folder / "broken.json").write_text("{not json")
    (folder / "ignored.txt").write_text("Rosalind Quimby")
    return folder


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["case-reports", *args])


def test_folder_is_deidentified_with_one_report_line_per_input(
    source: Path, tmp_path: Path, secret: Path
) -> None:
    out = tmp_path / "out"
    result = run(str(source), str(out), "--secret-file", str(secret), "--institution", "h1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / "deid-report.jsonl").read_text().splitlines()]
    by_name = {Path(line["source"]).name: line for line in lines}
    assert set(by_name) == {"rosalind-quimby.json", "bundle.json", "leaky.json", "broken.json"}
    assert by_name["rosalind-quimby.json"]["status"] == "ok"
    assert by_name["bundle.json"]["status"] == "ok"
    assert by_name["leaky.json"]["status"] == "quarantined"
    assert "diagnoses[0].system" in by_name["leaky.json"]["reason"]
    assert by_name["broken.json"] == {**by_name["broken.json"], "status": "rejected",
                                      "output": None}  # fmt: skip
    assert by_name["rosalind-quimby.json"]["actions"]["name"] >= 1
    outputs = sorted(p.name for p in out.glob("*.json"))
    assert outputs == sorted(line["output"] for line in lines if line["output"])
    for name in outputs:  # released files carry no identifier, not even in their names
        text = (out / name).read_text().lower()
        assert "quimby" not in name and "quimby" not in text and "4471923" not in text
    assert "2 ok, 1 quarantined, 1 rejected" in result.output


def test_single_file_and_secret_from_the_environment(
    source: Path, tmp_path: Path, secret: Path
) -> None:
    out = tmp_path / "single"
    result = CliRunner().invoke(
        cli,
        ["case-reports", str(source / "nested" / "bundle.json"), str(out), "--date-mode", "year"],
        env={"MEDSHARE_ANONYMIZER_SECRET_FILE": str(secret)},
    )
    assert result.exit_code == 0, result.output
    (line,) = (out / "deid-report.jsonl").read_text().splitlines()
    document = json.loads((out / json.loads(line)["output"]).read_text())
    assert document["encounter_year"] == 2024


def test_bad_arguments_exit_non_zero(source: Path, tmp_path: Path, secret: Path) -> None:
    no_secret = CliRunner().invoke(
        cli,
        ["case-reports", str(source), str(tmp_path / "o")],
        env={"MEDSHARE_ANONYMIZER_SECRET_FILE": ""},
    )
    assert no_secret.exit_code != 0 and "--secret-file" in no_secret.output
    short = tmp_path / "short.key"
    short.write_text("abc")
    empty = tmp_path / "empty"
    empty.mkdir()
    for src, dst, key in (
        (source, tmp_path / "o", short),  # secret too short
        (source, source / "out", secret),  # DST inside SRC
        (empty, tmp_path / "o2", secret),  # nothing to do
        (tmp_path / "missing", tmp_path / "o3", secret),
    ):
        assert run(str(src), str(dst), "--secret-file", str(key)).exit_code != 0, (src, dst)
