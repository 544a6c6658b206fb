"""Run medshare's own services as local processes (for `medshare demo` and the tests).

Each service is `medshare <name> serve` in its own process group with its own
environment, log file and HTTP port; `ready()` polls its `/readyz`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICE_NAMES = ("ingest", "anonymizer", "inference", "catalog")


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
