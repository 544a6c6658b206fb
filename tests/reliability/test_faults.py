"""Crashes, outages and a graceful stop while 2,000 records flow: nothing lost, nothing twice.

One run, fifteen faults spread over it:
- every service is killed with SIGKILL twice (no graceful shutdown, no commit, no
  leaving the group) and started again at once;
- the Kafka broker, the MongoDB-wire server and the S3 server are each killed with
  SIGKILL once, a random moment after their turn comes (the MongoDB-wire server just
  after a catalog write), and started again on the same data: what they acknowledged
  before must still be there;
- the Kafka broker, the MongoDB-wire server and the S3 server are each stopped once,
  one at a time. While one is down, every service that needs it answers /readyz 503
  naming it (and ingest answers 503 with Retry-After instead of accepting a record it
  cannot store); once it is back, /readyz is 200 again;
- the anonymizer is stopped once with SIGTERM: it exits by itself within its
  graceful timeout, leaves its consumer group at once (the group is empty right
  after), and has committed everything it handled: its successor re-handles nothing.
The end state must be exact: 2,000 records in the catalog, none missing, none twice,
every shared-zone object matching its catalog entry, no good record dead-lettered or
quarantined.

One run rather than one per fault kind keeps the suite inside its time budget (a
2,000-record pass takes minutes on two cores); each fault is recorded with the
progress at which it struck, so a failure points at its cause.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from medshare_infra.fleet import Fleet, running_fleet
from medshare_infra.services import SERVICE_NAMES
from medshare_infra.workload import Item, build_corpus
from tests.reliability.harness import Flow, verify_exact
from tests.reliability.sigkill import kill9

# Developers may run a smaller pass (MEDSHARE_FAULT_RECORDS=300); the suite runs 2,000.
RECORDS = int(os.environ.get("MEDSHARE_FAULT_RECORDS", "2000"))
# The random moments of the server kills; a failure prints it, set it to replay one.
SEED = int(os.environ.get("MEDSHARE_FAULT_SEED") or random.randrange(1_000_000))
SERVERS = ("kafka", "mongo", "seaweedfs")
# Which services report which server in /readyz, under which name.
NEEDS = {
    "kafka": (SERVICE_NAMES, "kafka"),
    "mongo": (("catalog",), "mongo"),
    "seaweedfs": (("ingest", "anonymizer", "inference"), "object_store"),
}
SCHEDULE = (
    ("kill", "ingest"),
    ("kill9", "mongo"),
    ("kill", "anonymizer"),
    ("outage", "kafka"),
    ("kill", "inference"),
    ("kill9", "seaweedfs"),
    ("kill", "catalog"),
    ("outage", "mongo"),
    ("term", "anonymizer"),
    ("kill9", "kafka"),
    ("kill", "ingest"),
    ("kill", "anonymizer"),
    ("outage", "seaweedfs"),
    ("kill", "inference"),
    ("kill", "catalog"),
)


def readiness(url: str) -> tuple[int, dict[str, Any]]:
    try:
        answer = httpx.get(f"{url}/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def wait_readiness(url: str, status: int, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        code, body = readiness(url)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"{url}/readyz stayed {code}: {body}"
        time.sleep(0.5)


def outage(stack: Any, fleet: Fleet, server: str, probe: Item) -> None:
    """Stop one server; /readyz must name it; ingest must refuse to accept; start it again."""
    services, dependency = NEEDS[server]
    stack.stop(server)
    try:
        for name in services:
            body = wait_readiness(fleet.url(name), 503, timeout_s=30)
            assert body["dependencies"][dependency].startswith("down"), (name, body)
        if server == "seaweedfs":  # a good record ingest cannot store: 503, not 202
            answer = httpx.post(
                fleet.url("ingest") + "/case-reports",
                content=probe.data,
                headers={"Content-Type": probe.content_type, "X-Institution": probe.institution},
                timeout=120,
            )
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["Retry-After"]) > 0
    finally:
        stack.start(server)
    for name in services:
        wait_readiness(fleet.url(name), 200, timeout_s=90)


async def group_state(bootstrap: str, group: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        return str(response.groups[0][2])
    finally:
        await admin.close()


def terminate(fleet: Fleet, name: str, bootstrap: str) -> dict[str, Any]:
    """SIGTERM, as an orchestrator does; what the exit looked like."""
    process = fleet.processes[name][0]
    assert process.process is not None
    started = time.monotonic()
    process.process.send_signal(15)
    code = process.process.wait(timeout=14)
    seconds = time.monotonic() - started
    state = asyncio.run(group_state(bootstrap, f"medshare-{name}"))
    fleet.restart(name)
    return {"code": code, "seconds": seconds, "group": state}


def incarnations(log: Path) -> list[tuple[str, set[tuple[str, int, int]]]]:
    """Each life of a service in its log: how it ended, and what it consumed."""
    lives: list[list[Any]] = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry["msg"].startswith("Started server process"):
            lives.append(["killed", set()])  # until it says otherwise
        elif entry["msg"] == "consumed":
            lives[-1][1].add((entry["topic"], entry["partition"], entry["offset"]))
        elif entry["msg"] == "service stopped":
            lives[-1][0] = "stopped"
    return [(ending, consumed) for ending, consumed in lives]


@pytest.mark.timeout(2400)
def test_kills_outages_and_sigterm_lose_and_duplicate_nothing(
    stack: Any,
    reliability_env: dict[str, str],
    released_templates: list[bytes],
    tmp_path: Path,
) -> None:
    assert {name for kind, name in SCHEDULE if kind == "kill"} == set(SERVICE_NAMES)
    items = build_corpus(RECORDS, dicom_share=0.7, seed=21, templates=released_templates)
    assert len({item.record_id for item in items}) == RECORDS
    probe = next(item for item in reversed(items) if item.kind == "case_report")
    faults: list[tuple[str, str, int, float]] = []
    terms: list[dict[str, Any]] = []
    rng = random.Random(SEED)
    try:
        with running_fleet(reliability_env, tmp_path / "logs") as fleet:
            flow = Flow(
                reliability_env, items, fleet.urls("ingest"), kafka_share=0.2, timeout_s=1800
            ).start()
            for index, (kind, name) in enumerate(SCHEDULE):
                # Spread the faults: the n-th strikes when n/(faults+2) of the run is cataloged.
                flow.wait_for_cataloged(RECORDS * (index + 1) // (len(SCHEDULE) + 2), timeout_s=600)
                struck_at, before = flow.cataloged(), time.monotonic()
                if kind == "kill9":
                    time.sleep(rng.uniform(0.0, 3.0))
                    kill9(stack, fleet, name, rng, flow.cataloged())
                elif kind == "kill":
                    fleet.kill(name)
                    fleet.restart(name)
                elif kind == "term":
                    bootstrap = reliability_env["MEDSHARE_KAFKA_BOOTSTRAP"]
                    terms.append(terminate(fleet, name, bootstrap))
                else:
                    outage(stack, fleet, name, probe)
                faults.append((kind, name, struck_at, round(time.monotonic() - before, 1)))
            seconds = flow.wait()
            anonymizer_log = fleet.processes["anonymizer"][0].log_path
    finally:
        for server in SERVERS:  # leave the session's servers running, whatever happened
            stack.start(server)
    state = verify_exact(reliability_env, flow.expected, f"seed {SEED}, faults {faults}")

    assert [(kind, name) for kind, name, _, _ in faults] == list(SCHEDULE)
    assert state.documents == RECORDS and state.shared_objects == RECORDS
    assert state.rejected == [], f"good records were dead-lettered: {state.rejected[:3]}"
    assert state.quarantined == 0

    (term,) = terms
    assert term["code"] in (0, -15), term  # uvicorn re-raises the SIGTERM it handled
    assert term["seconds"] < 12 and term["group"] == "Empty", term
    lives = incarnations(anonymizer_log)
    stopped = [i for i, (ending, _) in enumerate(lives) if ending == "stopped"]
    graceful = next(i for i in stopped if i + 1 < len(lives))  # the SIGTERMed life
    assert not lives[graceful][1] & lives[graceful + 1][1], "handled again after SIGTERM"
    print(
        f"\n{RECORDS} records acknowledged, {state.documents} cataloged once each "
        f"(0 missing, 0 twice); {len(faults)} faults (seed {SEED}), "
        f"{seconds:.0f} s to the last record; "
        f"{state.duplicate_deidentified_events} redelivered de-identified events absorbed; "
        f"SIGTERM exit in {term['seconds']:.1f} s; faults (kind, target, cataloged when "
        f"struck, seconds to recover): {faults}"
    )
