"""Orthanc as a benchmark peer, isolated in a private network namespace.

Orthanc 1.10 has no listen-address setting, so Debian's Orthanc (SQLite index, no
compression, its DICOM port off) runs inside ``unshare -n`` (a network namespace with
only a loopback interface) and the measuring client runs in there with it (this
module's ``main``). Two measurements:

- ``anonymize`` (`medshare bench deid`): per instance, upload (POST /instances) plus
  anonymisation (POST /instances/{id}/anonymize, Orthanc's Basic Profile), server and
  client pinned to one core; the returned file is written and the stored copy deleted
  outside the timed part.
- ``store`` (`medshare bench ingest`): the same HTTP client the medshare run uses,
  POST /instances acknowledged by Orthanc's 200, at each concurrency level.

The parent side (``run_orthanc``, ``run_orthanc_store``) starts ``unshare -n python -m
medshare_bench.peers.orthanc TASK WORKDIR`` and reads the results back.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medshare_bench.ingest_doors import DoorRun, http_door

PORT = 8042
READY_SECONDS = 30


@dataclass
class OrthancRun:
    seconds: list[float]
    outputs: list[Path | None]  # None: Orthanc refused or failed on the instance
    version: str


def unavailable_reason() -> str | None:
    if shutil.which("Orthanc") is None:
        return "Orthanc is not installed (apt-get install -y orthanc)"
    if shutil.which("unshare") is None:
        return "unshare is not available"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "unshare -n is not permitted here (needs CAP_SYS_ADMIN)"
    return None


def _in_namespace(task: str, workdir: Path, job: dict[str, Any]) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "job.json").write_text(json.dumps(job), encoding="utf-8")
    command = ["unshare", "-n", sys.executable, "-m", "medshare_bench.peers.orthanc", task,
               str(workdir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    result_file = workdir / "result.json"
    if done.returncode != 0 or not result_file.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError("Orthanc run failed: " + " | ".join(tail))
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    return result


def run_orthanc(inputs: list[Path], workdir: Path, cpu: int) -> OrthancRun:
    """Upload plus anonymisation of each instance, on one core."""
    job = {"inputs": [str(p) for p in inputs], "cpu": cpu}
    result = _in_namespace("anonymize", workdir, job)
    outputs = [Path(p) if p else None for p in result["outputs"]]
    return OrthancRun(result["seconds"], outputs, result["version"])


def run_orthanc_store(
    batches: dict[int, list[bytes]], workdir: Path
) -> tuple[str, dict[int, DoorRun]]:
    """Orthanc's version and one storage run per concurrency level."""
    levels: dict[str, list[str]] = {}
    for level, instances in batches.items():
        folder = workdir / "in" / str(level)
        folder.mkdir(parents=True, exist_ok=True)
        levels[str(level)] = []
        for index, data in enumerate(instances):
            path = folder / f"{index:06d}.dcm"
            path.write_bytes(data)
            levels[str(level)].append(str(path))
    result = _in_namespace("store", workdir, {"levels": levels})
    runs = {int(level): DoorRun(**run) for level, run in result["runs"].items()}
    return str(result["version"]), runs


# --- inside the namespace ------------------------------------------------------------


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    connection.request(method, path, body=body)
    response = connection.getresponse()
    return response.status, response.read()


def _start_server(workdir: Path, cpu: int | None) -> subprocess.Popen[bytes]:
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
    (workdir / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    command = ["Orthanc", str(workdir / "orthanc.json")]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    with (workdir / "orthanc.log").open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _wait_ready() -> str:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            status, body = _request(connection, "GET", "/system")
            if status == 200:
                return str(json.loads(body)["Version"])
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("Orthanc did not start")


def _anonymize(connection: http.client.HTTPConnection, data: bytes) -> tuple[bytes | None, str]:
    status, body = _request(connection, "POST", "/instances", data)
    if status != 200:
        return None, ""
    instance = json.loads(body)["ID"]
    status, body = _request(connection, "POST", f"/instances/{instance}/anonymize", b"{}")
    return (body if status == 200 else None), instance


def measure_anonymize(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    outputs_dir = workdir / "outputs"
    outputs_dir.mkdir(exist_ok=True)
    inputs = [Path(p).read_bytes() for p in job["inputs"]]
    _anonymize(connection, inputs[0])  # warm-up, not timed
    seconds: list[float] = []
    outputs: list[str | None] = []
    for index, data in enumerate(inputs):
        started = time.perf_counter()
        output, instance = _anonymize(connection, data)
        elapsed = time.perf_counter() - started
        if instance:
            _request(connection, "DELETE", f"/instances/{instance}")
        seconds.append(elapsed)
        if output is None:
            outputs.append(None)
            continue
        path = outputs_dir / f"{index:06d}.dcm"
        path.write_bytes(output)
        outputs.append(str(path))
    return {"seconds": seconds, "outputs": outputs}


def measure_store(job: dict[str, Any]) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for level, paths in job["levels"].items():
        instances = [Path(path).read_bytes() for path in paths]
        run = asyncio.run(
            http_door(f"http://127.0.0.1:{PORT}", instances, int(level), ok_status=200)
        )
        runs[level] = {"latencies_s": run.latencies_s, "errors": run.errors,
                       "wall_s": run.wall_s}  # fmt: skip
    return {"runs": runs}


def main(argv: list[str]) -> int:
    task, workdir = argv[0], Path(argv[1])
    job = json.loads((workdir / "job.json").read_text(encoding="utf-8"))
    cpu = int(job["cpu"]) if "cpu" in job else None
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = _start_server(workdir, cpu)
    try:
        version = _wait_ready()
        result = measure_anonymize(job, workdir) if task == "anonymize" else measure_store(job)
    finally:
        server.terminate()
        server.wait(timeout=30)
    (workdir / "result.json").write_text(json.dumps({**result, "version": version}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
