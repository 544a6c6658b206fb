"""`medshare bench ingest` end to end, small: every door acknowledges every instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_bench_ingest_measures_every_door(stack_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    done = subprocess.run(
        [sys.executable, "-m", "medshare_shared", "bench", "ingest", "--files", "6",
         "--concurrency", "1,3", "--via", "http", "--via", "dicom", "--via", "kafka",
         "--no-orthanc", "--out", str(out)],
        env={**os.environ, **stack_env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == "ingest"
    assert set(result["doors"]) == {"http", "dicom", "kafka"}
    for door, rows in result["doors"].items():
        assert [row["concurrency"] for row in rows] == [1, 3], door
        for row in rows:
            assert row["acknowledged"] == row["sent"] == 6 and row["errors"] == 0, (door, row)
            assert row["instances_per_s"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
    assert out.with_suffix(".png").stat().st_size > 0
    assert "anchor: 250 instances/s" in " ".join(done.stdout.split())
