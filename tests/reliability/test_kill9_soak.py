"""Soak: runs of 300 records, each with kill -9 of every process while records are in flight.

Submissions are paced (MEDSHARE_SOAK_RATE records a second, over HTTP and the Kafka
door), so the flow lasts the whole kill schedule. Each run SIGKILLs the four services
and the three servers once each, at random moments of the sending window, each strike
on its own clock: strikes overlap, so a service may be started again while a server
it needs is still down (it waits for it, or is started again, a bounded number of
times, as an orchestrator would). The MongoDB-wire server is struck 0-100 ms after the
catalog consumed an event, i.e. while or just after a catalog write is acknowledged.
Servers restart on the same data; unacknowledged submissions are sent again.

Then every acknowledged record must be accounted for exactly once: in the catalog, the
quarantine or the dead letters (missing 0), never twice (duplicates 0); and, the
corpus being all releasable records, all of them in the catalog with their shared
objects intact.

Not part of `make test` (a run takes several minutes); run it by hand against servers
it may kill:

    MEDSHARE_STACK_PROFILE=soak .venv/bin/python -m pytest tests/reliability -m soak -s

MEDSHARE_SOAK_RUNS (10), MEDSHARE_SOAK_RECORDS (300) and MEDSHARE_SOAK_RATE (2.0) size
it; MEDSHARE_SOAK_SEED replays a failed run's corpus and kill moments;
MEDSHARE_SOAK_REPORT names a file that gets one JSON line per run.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medshare_infra.fleet import Fleet, running_fleet
from medshare_infra.services import SERVICE_NAMES
from medshare_infra.workload import build_corpus
from tests.reliability.harness import Accounting, Flow, account, discard, verify_exact
from tests.reliability.sigkill import SERVER_NAMES, Strike, kill9

RUNS = int(os.environ.get("MEDSHARE_SOAK_RUNS", "10"))
RECORDS = int(os.environ.get("MEDSHARE_SOAK_RECORDS", "300"))
RATE = float(os.environ.get("MEDSHARE_SOAK_RATE", "2.0"))
SEED = int(os.environ.get("MEDSHARE_SOAK_SEED") or random.randrange(1_000_000))
REPORT = os.environ.get("MEDSHARE_SOAK_REPORT")
# After the last submission, how long the catalog may stand still before we count.
STALL_S = 240.0
# How long a strike may wait, past its moment, for a record to be in flight.
IN_FLIGHT_WAIT_S = 120.0


@dataclass
class Hit:
    """One strike and what was in flight when it came."""

    target: str
    at_s: float  # seconds into the flow
    acknowledged: int
    in_flight: int  # acknowledged, not yet cataloged
    strike: Strike | None = None
    error: BaseException | None = None

    def __str__(self) -> str:
        what = str(self.strike) if self.strike else f"{self.target} failed: {self.error!r}"
        return f"{what} at {self.at_s:.0f} s, {self.acknowledged} acked, {self.in_flight} in flight"


def strike_at(
    stack: Any, fleet: Fleet, flow: Flow, target: str, moment: float, rng: random.Random
) -> tuple[Hit, threading.Thread]:
    """A thread that kills `target` `moment` seconds into the flow and starts it again."""
    hit = Hit(target, moment, 0, 0)

    def run() -> None:
        time.sleep(max(0.0, flow.started + moment - time.monotonic()))
        # A strike while nothing is in flight proves little (after an earlier Kafka strike
        # the pipeline drains while ingest answers 503): wait, bounded, for work to return.
        waiting_until = time.monotonic() + IN_FLIGHT_WAIT_S
        while (
            len(flow.acks.acked_at) - flow.cataloged() < 1
            and len(flow.acks.acked_at) < len(flow.items)
            and time.monotonic() < waiting_until
        ):
            time.sleep(0.05)
        hit.at_s = time.monotonic() - flow.started
        hit.acknowledged = len(flow.acks.acked_at)
        hit.in_flight = hit.acknowledged - flow.cataloged()
        try:
            hit.strike = kill9(stack, fleet, target, rng, flow.cataloged())
        except BaseException as error:  # reported with the run
            hit.error = error

    return hit, threading.Thread(target=run, name=f"kill9-{target}", daemon=True)


def settle(flow: Flow, stall_s: float = STALL_S) -> float:
    """Wait until every record is cataloged, or nothing moved for `stall_s`; seconds taken."""
    progress, moved = -1, time.monotonic()
    while not flow.finished:
        if flow.error is not None:
            raise flow.error
        now = len(flow.progress.cataloged_at) + len(flow.progress.inferred_at)
        sending = len(flow.acks.acked_at) < len(flow.items)
        if now != progress or sending:
            progress, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            break
        time.sleep(1.0)
    return time.monotonic() - flow.started


@pytest.mark.soak
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("run", range(RUNS))
def test_kill9_of_every_process_in_flight_loses_and_duplicates_nothing(
    run: int,
    stack: Any,
    reliability_env: dict[str, str],
    released_templates: list[bytes],
    tmp_path: Path,
) -> None:
    if stack.profile == "test":
        pytest.fail("the soak kills servers: run it with MEDSHARE_STACK_PROFILE=soak (or fault)")
    seed = SEED + run
    rng = random.Random(seed)
    targets = [*SERVICE_NAMES, *SERVER_NAMES]
    window = RECORDS / RATE  # seconds of sending
    # One moment per target, between 5 % and 85 % of the sending window.
    moments = [window * rng.uniform(0.05, 0.85) for _ in targets]
    items = build_corpus(RECORDS, dicom_share=0.7, seed=seed, templates=released_templates)
    hits: list[Hit] = []
    try:
        with running_fleet(reliability_env, tmp_path / "logs", timeout_s=240) as fleet:
            flow = Flow(
                reliability_env,
                items,
                fleet.urls("ingest"),
                kafka_share=0.2,
                timeout_s=window + 1500,
                rate=RATE,
            ).start()
            threads = []
            for target, moment in zip(targets, moments, strict=True):
                hit, thread = strike_at(
                    stack, fleet, flow, target, moment, random.Random(rng.random())
                )
                hits.append(hit)
                threads.append(thread)
                thread.start()
            for thread in threads:
                thread.join(timeout=window + 900)
            seconds = settle(flow)
    finally:
        for server in SERVER_NAMES:  # leave the servers running, whatever happened
            stack.start(server)
    hits.sort(key=lambda hit: hit.at_s)
    context = f"seed {seed}, strikes {[str(hit) for hit in hits]}"
    tally: Accounting = account(reliability_env, set(flow.acks.acked_at))
    line: dict[str, Any] = {"run": run + 1, "seed": seed, **tally.row()}
    line |= {"seconds": round(seconds), "strikes": [str(hit) for hit in hits]}
    line["idle_strikes"] = sum(hit.in_flight == 0 for hit in hits)
    if REPORT:
        with open(REPORT, "a") as report:
            report.write(json.dumps(line) + "\n")
    print(f"\nsoak run {run + 1}/{RUNS}: {json.dumps(line)}")

    assert all(hit.error is None for hit in hits), context
    # Every strike came while records were still being submitted.
    assert all(hit.acknowledged < RECORDS for hit in hits), context
    assert tally.missing == [], f"{len(tally.missing)} missing: {tally.missing[:5]}; {context}"
    assert tally.duplicates == 0, context
    # Every strike found work in flight (bar one: the pipeline may catch up in a lull).
    assert line["idle_strikes"] <= 1, context
    assert tally.acknowledged == RECORDS, context
    assert tally.quarantined == tally.dead_lettered == 0, context
    state = verify_exact(reliability_env, flow.expected, context)  # objects byte-exact
    assert state.documents == state.shared_objects == RECORDS, context
    discard(reliability_env)  # a failed run's data stays, for the post-mortem
