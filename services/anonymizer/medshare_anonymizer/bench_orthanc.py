"""Orthanc as a benchmark peer, isolated in a private network namespace.

Orthanc 1.10 has no listen-address setting, so it runs inside ``unshare -n`` (a
network namespace with only a loopback interface) with its DICOM port off; the
measuring client runs in the same namespace (this module's ``main``), pinned to the
same core as the server. Per instance it times upload (POST /instances) plus
anonymisation (POST /instances/{id}/anonymize, Orthanc's Basic Profile), writes the
returned file and deletes the stored copy outside the timed part.

The parent side (``run_orthanc``) starts ``unshare -n python -m
medshare_anonymizer.bench_orthanc WORKDIR`` and reads the results back.
"""

from __future__ import annotations

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


def run_orthanc(inputs: list[Path], workdir: Path, cpu: int) -> OrthancRun:
    """Runs the Orthanc measurement in a private network namespace."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "job.json").write_text(
        json.dumps({"inputs": [str(p) for p in inputs], "cpu": cpu}), encoding="utf-8"
    )
    command = ["unshare", "-n", sys.executable, "-m", "medshare_anonymizer.bench_orthanc",
               str(workdir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    result_file = workdir / "result.json"
    if done.returncode != 0 or not result_file.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError("Orthanc run failed: " + " | ".join(tail))
    result = json.loads(result_file.read_text(encoding="utf-8"))
    outputs = [Path(p) if p else None for p in result["outputs"]]
    return OrthancRun(result["seconds"], outputs, result["version"])


# --- inside the namespace ------------------------------------------------------------


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    connection.request(method, path, body=body)
    response = connection.getresponse()
    return response.status, response.read()


def _start_server(workdir: Path, cpu: int) -> subprocess.Popen[bytes]:
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
    log = (workdir / "orthanc.log").open("wb")
    return subprocess.Popen(
        ["taskset", "-c", str(cpu), "Orthanc", str(workdir / "orthanc.json")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


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


def measure(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    os.sched_setaffinity(0, {int(job["cpu"])})
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = _start_server(workdir, int(job["cpu"]))
    try:
        version = _wait_ready()
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
        return {"seconds": seconds, "outputs": outputs, "version": version}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    job = json.loads((workdir / "job.json").read_text(encoding="utf-8"))
    result = measure(job, workdir)
    (workdir / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
