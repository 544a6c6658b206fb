"""Run medshare's own services as local processes (for `medshare demo`, tests and benchmarks).

Each service is `medshare <name> serve` in its own process group with its own
environment, log file and HTTP port; `ready()` polls its `/readyz`. `fresh_env`
gives one deployment its own topics, buckets and database on servers others share.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICE_NAMES = ("ingest", "anonymizer", "inference", "catalog")


def fresh_env(
    base: Mapping[str, str],
    secret_file: Path,
    name: str,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The MEDSHARE_ environment of one isolated deployment: its own topics, buckets and
    database, and an anonymizer key in `secret_file` (written when missing). `overrides`
    are further MEDSHARE_ variables (a trained models bucket, the log level...)."""
    run = uuid.uuid4().hex[:10]
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
    return {
        **base,
        "MEDSHARE_TOPIC_PREFIX": f"{name}{run}.",
        "MEDSHARE_RAW_BUCKET": f"raw-{run}",
        "MEDSHARE_SHARED_BUCKET": f"shared-{run}",
        "MEDSHARE_HELD_BUCKET": f"held-{run}",
        "MEDSHARE_MODELS_BUCKET": f"models-{run}",
        "MEDSHARE_MONGO_DB": f"{name}_{run}",
        "MEDSHARE_ANONYMIZER_SECRET_FILE": str(secret_file),
        **(overrides or {}),
    }


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = self.log_path.open("ab")
        command = [sys.executable, "-m", "medshare_shared", self.name, "serve"]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **self.env, "MEDSHARE_HTTP_PORT": str(self.port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.is_running():
                raise RuntimeError(f"{self.name} exited; see {self.log_path}:\n{self.tail()}")
            if self.ready():
                return
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not ready after {timeout_s:.0f}s:\n{self.tail()}")

    def metrics(self) -> str:
        """The service's Prometheus text."""
        return httpx.get(f"{self.url}/metrics", timeout=5).text

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (graceful: the consumer leaves its group), then SIGKILL if it hangs."""
        if not self.is_running():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL without warning (fault tests)."""
        if self.is_running():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
