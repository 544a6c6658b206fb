"""Start the four services as real processes against the session's servers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from medshare_infra.processes import free_port
from medshare_infra.services import SERVICE_NAMES, ServiceProcess

T = TypeVar("T")


@contextmanager
def running_services(
    env: dict[str, str], log_dir: Path, names: tuple[str, ...] = SERVICE_NAMES
) -> Iterator[dict[str, ServiceProcess]]:
    services = {
        name: ServiceProcess(name, free_port(), env, log_dir / f"{name}.log") for name in names
    }
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready(90)
        yield services
    finally:
        for service in services.values():
            service.stop()


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
