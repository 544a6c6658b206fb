"""SIGTERM is a clean hand-over; /readyz tells the truth about every dependency.

- A service stopped with SIGTERM mid-run exits by itself (no SIGKILL needed), has
  committed everything it handled (its successor re-handles nothing) and has left
  its consumer group at once (not after a session timeout).
- Each service's /readyz turns 503, naming the dependency, while the object store,
  MongoDB or the broker is down, and 200 again once it is back; meanwhile ingest
  answers 503 with Retry-After instead of accepting what it cannot store.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from medshare_infra.fleet import running_fleet
from medshare_infra.samples import sample_case_reports
from medshare_infra.workload import build_corpus
from tests.reliability.harness import Flow, verify_exact

RECORDS = 300


async def group_state(bootstrap: str, group: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        return str(response.groups[0][2])
    finally:
        await admin.close()


def consumed_positions(log: Path) -> list[set[tuple[str, int, int]]]:
    """(topic, partition, offset) consumed by each incarnation of a service, in order."""
    incarnations: list[set[tuple[str, int, int]]] = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry["msg"].startswith("Started server process"):
            incarnations.append(set())
        elif entry["msg"] == "consumed":
            incarnations[-1].add((entry["topic"], entry["partition"], entry["offset"]))
    return incarnations


def test_sigterm_finishes_commits_and_leaves_the_group(
    reliability_env: dict[str, str], released_templates: list[bytes], tmp_path: Path
) -> None:
    items = build_corpus(RECORDS, seed=31, templates=released_templates)
    bootstrap = reliability_env["MEDSHARE_KAFKA_BOOTSTRAP"]
    with running_fleet(reliability_env, tmp_path / "logs") as fleet:
        flow = Flow(reliability_env, items, fleet.urls("ingest"), kafka_share=0.0).start()
        flow.wait_for_cataloged(RECORDS // 3)
        anonymizer = fleet.processes["anonymizer"][0]
        assert anonymizer.process is not None
        before = time.monotonic()
        anonymizer.process.send_signal(15)  # SIGTERM, as an orchestrator would
        exit_code = anonymizer.process.wait(timeout=14)
        stopped_in = time.monotonic() - before
        state = asyncio.run(group_state(bootstrap, "medshare-anonymizer"))
        fleet.restart("anonymizer")
        flow.wait()
        first, second = consumed_positions(anonymizer.log_path)
    verify_exact(reliability_env, flow.expected)

    # uvicorn shuts down, then re-raises the signal it caught: -15, never -9.
    assert exit_code in (0, -15), f"exit code {exit_code}"
    log = anonymizer.log_path.read_text()
    first_life = log[: log.index("Finished server process")]
    assert '"service stopped"' in first_life, "the lifespan did not run to its end"
    assert stopped_in < 12
    assert state == "Empty", f"group still {state}: the member did not leave"
    assert first and second
    assert not first & second, "records handled before SIGTERM were handled again"


def ready(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/readyz", timeout=10)
    return answer.status_code, answer.json()


def wait_readiness(url: str, status: int, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        code, body = ready(url)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"{url}/readyz stayed {code}: {body}"
        time.sleep(0.5)


def test_readyz_names_the_missing_dependency_and_recovers(
    stack: Any, reliability_env: dict[str, str], tmp_path: Path
) -> None:
    outages = (
        ("seaweedfs", ["ingest", "anonymizer", "inference"], "object_store"),
        ("mongo", ["catalog"], "mongo"),
        ("kafka", ["ingest", "anonymizer", "inference", "catalog"], "kafka"),
    )
    with running_fleet(reliability_env, tmp_path / "logs") as fleet:
        try:
            for server, services, dependency in outages:
                stack.stop(server)
                for name in services:
                    body = wait_readiness(fleet.url(name), 503)
                    assert body["dependencies"][dependency].startswith("down"), (name, body)
                if server == "seaweedfs":  # a good record that cannot be stored now
                    report = sample_case_reports(1, seed=99)[0]
                    answer = httpx.post(
                        f"{fleet.url('ingest')}/case-reports",
                        content=json.dumps(report).encode(),
                        headers={"Content-Type": "application/json", "X-Institution": "st-x"},
                        timeout=90,
                    )
                    assert answer.status_code == 503, answer.text
                    assert int(answer.headers["Retry-After"]) > 0
                stack.start(server)
                for name in services:
                    wait_readiness(fleet.url(name), 200, timeout_s=60)
        finally:
            for server, _, _ in outages:
                stack.start(server)
