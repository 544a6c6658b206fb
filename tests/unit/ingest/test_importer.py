import json
from pathlib import Path

import httpx
from pydicom.data import get_testdata_file

from medshare_ingest.doors.bulk.importer import (
    HttpSender,
    ImportItem,
    ImportSummary,
    Journal,
    classify,
    run_import,
    walk,
)


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


def test_journal_survives_reopen_and_is_per_institution(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", "clinic-a")
    journal.record("abc")
    assert "abc" in Journal(tmp_path / "j", "clinic-a").done
    # The same file for another institution is another record: not skipped.
    assert "abc" not in Journal(tmp_path / "j", "clinic-b").done


class ScriptedSender:
    """Answers from a script per file name (pure logic: no network)."""

    def __init__(self, answers: dict[str, tuple[str, str | None]]):
        self.answers = answers
        self.sent: list[str] = []
        self.closed = False

    async def send(self, item: ImportItem, data: bytes) -> tuple[str, str | None]:
        self.sent.append(item.path.name)
        return self.answers[item.path.name]

    async def close(self) -> None:
        self.closed = True


async def test_run_import_counts_journals_and_skips(tmp_path: Path) -> None:
    items = []
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).write_bytes(name.encode())
        items.append(ImportItem(tmp_path / name, "case_report", "application/json"))
    sender = ScriptedSender(
        {
            "a": ("accepted", None),
            "b": ("duplicate", None),
            "c": ("refused", "invalid JSON"),
            "d": ("failed", "HTTP 503"),
        }
    )
    journal = Journal(tmp_path / "journal", "x")
    seen: list[str] = []
    summary = await run_import(items, sender, journal, 3, lambda o, s: seen.append(o))  # type: ignore[arg-type]
    assert (summary.accepted, summary.duplicate, summary.refused, summary.failed) == (1, 1, 1, 1)
    assert summary.reasons == {"invalid JSON": 1, "HTTP 503": 1}
    assert sorted(seen) == ["accepted", "duplicate", "failed", "refused"]
    assert sender.closed

    again = ScriptedSender(sender.answers)
    summary = await run_import(
        items, again, Journal(tmp_path / "journal", "x"), 2, lambda o, s: None
    )  # type: ignore[arg-type]
    assert summary.skipped == 2  # accepted and duplicate were journaled
    assert sorted(again.sent) == ["c", "d"]


async def test_http_sender_retries_503_after_retry_after(tmp_path: Path) -> None:
    answers = iter(
        [
            httpx.Response(503, json={"error": "broker"}, headers={"Retry-After": "0"}),
            httpx.Response(202, json={"status": "accepted"}),
        ]
    )
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return next(answers)

    sender = HttpSender("http://ingest", "clinic", "secret")
    sender.client = httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        base_url="http://ingest",
        headers=sender.client.headers,
    )
    (tmp_path / "r.json").write_text("{}")
    outcome = await sender.send(
        ImportItem(tmp_path / "r.json", "case_report", "application/json"), b"{}"
    )
    await sender.close()
    assert outcome == ("accepted", None)
    assert len(requests) == 2
    assert requests[0].headers["X-API-Key"] == "secret"
    assert requests[0].headers["X-Submission-Id"] == requests[1].headers["X-Submission-Id"]
    assert ImportSummary().as_dict()["accepted"] == 0
