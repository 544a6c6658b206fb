"""The four services as local processes, N replicas each, for benchmarks and fault tests.

Replicas of a service share its consumer group (Kafka spreads the partitions over
them) and each listens on its own HTTP port. `kill` is SIGKILL without warning,
`stop` is SIGTERM (graceful), `restart` starts a stopped or killed replica again
on the same port and log file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from medshare_infra.processes import free_port
from medshare_infra.services import SERVICE_NAMES, ServiceProcess


class Fleet:
    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        replicas: int = 1,
        names: tuple[str, ...] = SERVICE_NAMES,
    ):
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, list[ServiceProcess]] = {
            name: [
                ServiceProcess(name, free_port(), env, log_dir / f"{name}-{index}.log")
                for index in range(replicas)
            ]
            for name in names
        }

    def all(self) -> list[ServiceProcess]:
        return [process for group in self.processes.values() for process in group]

    def urls(self, name: str) -> list[str]:
        return [process.url for process in self.processes[name]]

    def url(self, name: str) -> str:
        return self.processes[name][0].url

    def log_files(self, name: str) -> list[Path]:
        return [process.log_path for process in self.processes[name]]

    def pids(self) -> dict[str, list[int]]:
        return {
            name: [p.process.pid for p in group if p.process is not None and p.is_running()]
            for name, group in self.processes.items()
        }

    def start(self, timeout_s: float = 120.0) -> None:
        for process in self.all():
            process.start()
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        with ThreadPoolExecutor(max_workers=len(self.all())) as pool:
            list(pool.map(lambda process: process.wait_ready(timeout_s), self.all()))

    def stop(self) -> None:
        """SIGTERM every replica (in parallel: each may take its graceful timeout)."""
        with ThreadPoolExecutor(max_workers=len(self.all())) as pool:
            list(pool.map(lambda process: process.stop(), self.all()))

    def kill(self, name: str, index: int = 0) -> None:
        self.processes[name][index].kill()

    def restart(self, name: str, index: int = 0, wait_s: float | None = 120.0) -> None:
        process = self.processes[name][index]
        if process.is_running():
            process.stop()
        process.start()
        if wait_s is not None:
            process.wait_ready(wait_s)

    def metrics_text(self) -> dict[str, str]:
        """Each replica's /metrics, keyed by `<service>-<index>`."""
        texts = {}
        for name, group in self.processes.items():
            for index, process in enumerate(group):
                try:
                    texts[f"{name}-{index}"] = httpx.get(f"{process.url}/metrics", timeout=5).text
                except httpx.HTTPError:
                    texts[f"{name}-{index}"] = ""
        return texts


@contextmanager
def running_fleet(
    env: dict[str, str],
    log_dir: Path,
    replicas: int = 1,
    names: tuple[str, ...] = SERVICE_NAMES,
    timeout_s: float = 120.0,
) -> Iterator[Fleet]:
    fleet = Fleet(env, log_dir, replicas, names)
    try:
        fleet.start(timeout_s)
        yield fleet
    finally:
        fleet.stop()


def wait_until_ready(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False
