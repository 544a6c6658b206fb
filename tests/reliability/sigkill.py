"""kill -9 of a server or a service at a random moment of a flow, then start it on the same data.

A server's SIGKILL goes to its whole process group (the JVM, weed, secantusd): no
shutdown hook, no final checkpoint or flush. Whatever it had acknowledged must be
found again after the restart. The MongoDB-wire server is struck 0-100 ms after the
catalog took an event, i.e. while its write is in flight or just acknowledged: the
window in which a non-journaled write is lost.

A service started again while a server it needs is still down waits for it (the
shared start-up retries for a bounded time); if it still gives up, it is started
again a few times, as an orchestrator restarts a crashed container.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medshare_infra.fleet import Fleet

SERVER_NAMES = ("kafka", "mongo", "seaweedfs")
CATALOG_TOPICS = ("records.deidentified", "records.inferred")


@dataclass(frozen=True)
class Strike:
    target: str
    cataloged: int  # records cataloged when it struck
    seconds: float  # from the kill to the target answering again
    failed_starts: int = 0  # starts that gave up before the target answered

    def __str__(self) -> str:
        again = f", {self.failed_starts} failed starts" if self.failed_starts else ""
        return f"{self.target}@{self.cataloged} ({self.seconds:.1f} s{again})"


def just_after_a_catalog_write(log: Path, rng: random.Random, timeout_s: float = 20.0) -> None:
    """Return 0-100 ms after the catalog consumed a new event (and so wrote it)."""
    start = log.stat().st_size if log.exists() else 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with log.open("rb") as handle:
            handle.seek(start)
            fresh = handle.read()
        if any(
            b'"consumed"' in line and any(topic.encode() in line for topic in CATALOG_TOPICS)
            for line in fresh.splitlines()
        ):
            time.sleep(rng.uniform(0.0, 0.1))  # the fold's write is acknowledged about now
            return
        time.sleep(0.002)


def kill9(stack: Any, fleet: Fleet, target: str, rng: random.Random, cataloged: int) -> Strike:
    """SIGKILL `target` (a server of `stack` or a service of `fleet`) and start it again."""
    if target == "mongo":
        just_after_a_catalog_write(fleet.processes["catalog"][0].log_path, rng)
    started = time.monotonic()
    failed = 0
    if target in SERVER_NAMES:
        stack.stop(target, hard=True)
        stack.start(target)  # same data directory; returns once it answers
    else:
        fleet.kill(target)
        failed = restart_service(fleet, target)
    return Strike(target, cataloged, time.monotonic() - started, failed)


def restart_service(fleet: Fleet, name: str, attempts: int = 5, wait_s: float = 240.0) -> int:
    """Start a service until it answers, at most `attempts` times; how many starts failed."""
    for failed in range(attempts):
        try:
            fleet.restart(name, wait_s=wait_s)
            return failed
        except (RuntimeError, TimeoutError):  # exited at start-up, or never became ready
            if failed + 1 == attempts:
                raise
            time.sleep(min(2.0**failed, 10.0))  # an orchestrator's back-off
    raise AssertionError("unreachable")
