"""`medshare ingest PATH...` killed halfway (SIGKILL), then resumed from its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medshare_infra.processes import free_port
from medshare_infra.services import ServiceProcess
from tests.integration.ingest.conftest import raw_keys, read_topic
from tests.integration.ingest.samples import case_report, fhir_bundle

INSTITUTION = "fairview-imaging"
CONCURRENCY = 2
DICOM_FILES = 120


@pytest.fixture
def ingest_process(pipeline_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        **pipeline_env,
        "MEDSHARE_CONSUMER_GROUP": "ingest-" + pipeline_env["MEDSHARE_TOPIC_PREFIX"].strip("."),
    }
    service = ServiceProcess("ingest", free_port(), env, tmp_path / "ingest.log")
    service.start()
    try:
        service.wait_ready(60)
        yield service
    finally:
        service.stop()


def import_command(folder: Path, journal: Path, url: str, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "medshare_shared", "ingest", str(folder),
        "--institution", INSTITUTION, "--url", url, "--concurrency", str(CONCURRENCY),
        "--journal", str(journal), "--report", str(report),
    ]  # fmt: skip


def journal_lines(journal: Path) -> int:
    return len(journal.read_text().splitlines()) if journal.exists() else 0


async def test_import_killed_halfway_resumes_without_resending(
    ingest_process: ServiceProcess,
    pipeline_env: dict[str, str],
    fresh_dicom: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "export"
    (folder / "images" / "nested").mkdir(parents=True)
    (folder / "reports").mkdir()
    for index in range(DICOM_FILES):
        sub = "images/nested" if index % 3 == 0 else "images"
        (folder / sub / f"{index:04d}.dcm").write_bytes(fresh_dicom())
    for index in range(5):
        (folder / "reports" / f"report-{index}.json").write_text(json.dumps(case_report()))
    (folder / "reports" / "bundle.json").write_text(json.dumps(fhir_bundle()))
    (folder / "reports" / "broken.json").write_text('{"report_id": ')  # refused each run
    (folder / "README.txt").write_text("not a record")  # not even sent
    importable = DICOM_FILES + 7  # 5 reports, a Bundle and the broken one

    journal, first_report = tmp_path / "import.journal", tmp_path / "first.json"
    command = import_command(folder, journal, ingest_process.url, first_report)
    env = {**os.environ, **pipeline_env}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while journal_lines(journal) < importable // 3:
        assert first.poll() is None, "the import finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not first_report.exists()  # killed: it never got to its summary
    journaled = journal_lines(journal)
    assert importable // 3 <= journaled < importable

    second_report = tmp_path / "second.json"
    second = subprocess.run(
        import_command(folder, journal, ingest_process.url, second_report),
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second_report.read_text())
    assert summary["skipped"] == journaled  # what the journal had was not sent again
    # Only what was in flight when the kill came was accepted but not yet journaled.
    assert summary["duplicate"] <= CONCURRENCY
    assert summary["accepted"] + summary["duplicate"] + summary["skipped"] == importable - 1
    assert summary["refused"] == 1 and summary["failed"] == 0
    assert any("invalid JSON" in reason for reason in summary["reasons"])

    keys = raw_keys(pipeline_env)
    assert len(keys) == importable - 1
    assert all(key.startswith(f"records/{INSTITUTION}/") for key in keys)
    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"],
        pipeline_env["MEDSHARE_TOPIC_PREFIX"] + "records.ingested",
        expect=importable - 1,
    )
    ids = [event["payload"]["record_id"] for event in events]
    assert len(ids) == len(set(ids)) == importable - 1  # exactly the right records, once each

    third_report = tmp_path / "third.json"
    third = subprocess.run(
        import_command(folder, journal, ingest_process.url, third_report),
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert third.returncode == 0
    assert json.loads(third_report.read_text())["skipped"] == importable - 1
