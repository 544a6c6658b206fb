import json
from pathlib import Path

from pydicom.data import get_testdata_file

from medshare_ingest.importer import Journal, classify, walk


def test_classify_by_content(tmp_path: Path) -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path
    dicom = tmp_path / "scan.bin"
    dicom.write_bytes(Path(path).read_bytes())
    report = tmp_path / "a.json"
    report.write_text(json.dumps({"report_id": "1"}))
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "entry": []}))
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert classify(dicom).kind == "dicom"  # type: ignore[union-attr]
    assert classify(report).content_type == "application/json"  # type: ignore[union-attr]
    assert classify(bundle).content_type == "application/fhir+json"  # type: ignore[union-attr]
    assert classify(other) is None


def test_walk_recurses_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2").write_text("x")
    (tmp_path / "1").write_text("x")
    assert [p.name for p in walk([tmp_path])] == ["1", "2"]


def test_journal_survives_reopen(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.record("abc")
    assert "abc" in Journal(tmp_path / "j").done
