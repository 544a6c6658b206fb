"""Orthanc on this machine as the benchmark's peer: the same instances, the same client.

The published anchor (about 250 instances/s stored, PostgreSQL back end, 5 clients)
was measured elsewhere; this runs Debian's Orthanc (SQLite index, no compression,
its DICOM port off) here, so the comparison shares the hardware. Orthanc has no
listen-address setting, so it runs inside ``unshare -n`` (a network namespace with
only loopback) and the measuring client, the same HTTP client the medshare run
uses, runs in there with it: POST /instances, acknowledged by Orthanc's 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from medshare_ingest.bench_clients import DoorRun, http_door

PORT = 8042
READY_SECONDS = 30


def orthanc_unavailable() -> str | None:
    if shutil.which("Orthanc") is None:
        return "Orthanc is not installed (Debian: apt-get install -y orthanc)"
    if shutil.which("unshare") is None:
        return "unshare is not available"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return "unshare -n is not permitted here (needs CAP_SYS_ADMIN)"
    return None


def run_orthanc(batches: dict[int, list[bytes]], workdir: Path) -> tuple[str, dict[int, DoorRun]]:
    """Orthanc's version and one run per concurrency level (parent side)."""
    workdir.mkdir(parents=True, exist_ok=True)
    job: dict[str, list[str]] = {}
    for level, instances in batches.items():
        folder = workdir / "in" / str(level)
        folder.mkdir(parents=True, exist_ok=True)
        job[str(level)] = []
        for index, data in enumerate(instances):
            path = folder / f"{index:06d}.dcm"
            path.write_bytes(data)
            job[str(level)].append(str(path))
    (workdir / "job.json").write_text(json.dumps(job))
    command = ["unshare", "-n", sys.executable, "-m", "medshare_ingest.bench_orthanc",
               str(workdir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    result_file = workdir / "result.json"
    if done.returncode != 0 or not result_file.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError("Orthanc run failed: " + " | ".join(tail))
    result = json.loads(result_file.read_text())
    runs = {int(level): DoorRun(**run) for level, run in result["runs"].items()}
    return str(result["version"]), runs


# --- inside the namespace ------------------------------------------------------------


def _start(workdir: Path) -> subprocess.Popen[bytes]:
    config = {
        "Name": "medshare-bench",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "HttpPort": PORT,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "StorageCompression": False,
        "Plugins": [],
    }
    (workdir / "orthanc.json").write_text(json.dumps(config))
    with (workdir / "orthanc.log").open("wb") as log:
        return subprocess.Popen(["Orthanc", str(workdir / "orthanc.json")], stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _wait_ready() -> str:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"http://127.0.0.1:{PORT}/system", timeout=2)
            if answer.status_code == 200:
                return str(answer.json()["Version"])
        time.sleep(0.2)
    raise RuntimeError("Orthanc did not start")


def measure(workdir: Path) -> dict[str, Any]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    job = json.loads((workdir / "job.json").read_text())
    server = _start(workdir)
    try:
        version = _wait_ready()
        runs: dict[str, Any] = {}
        for level, paths in job.items():
            instances = [Path(path).read_bytes() for path in paths]
            run = asyncio.run(
                http_door(f"http://127.0.0.1:{PORT}", instances, int(level), ok_status=200)
            )
            runs[level] = {"latencies_s": run.latencies_s, "errors": run.errors,
                           "wall_s": run.wall_s}  # fmt: skip
        return {"version": version, "runs": runs}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    (workdir / "result.json").write_text(json.dumps(measure(workdir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
