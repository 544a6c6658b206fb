"""kill -9 each service in turn, several times, while 2,000 records flow.

Each kill comes without warning (SIGKILL: no graceful shutdown, no commit, no
leaving the group) at a different point of the run, and the service is started
again at once. The end state must be exact: 2,000 records in the catalog, none
missing, none twice, every shared-zone object matching its catalog entry, no good
record dead-lettered or quarantined.
"""

from __future__ import annotations

import time
from pathlib import Path

from medshare_infra.fleet import running_fleet
from medshare_infra.services import SERVICE_NAMES
from medshare_infra.workload import build_corpus
from tests.reliability.harness import Flow, verify_exact

RECORDS = 2000
ROUNDS = 2  # every service is killed this many times


def test_kill_9_each_service_in_turn_loses_and_duplicates_nothing(
    reliability_env: dict[str, str], released_templates: list[bytes], tmp_path: Path
) -> None:
    items = build_corpus(RECORDS, dicom_share=0.7, seed=21, templates=released_templates)
    assert len({item.record_id for item in items}) == RECORDS
    schedule = [name for _ in range(ROUNDS) for name in SERVICE_NAMES]
    kills: list[tuple[str, int, float]] = []
    with running_fleet(reliability_env, tmp_path / "logs") as fleet:
        flow = Flow(reliability_env, items, fleet.urls("ingest"), kafka_share=0.2).start()
        for index, name in enumerate(schedule):
            # Spread the kills over the run: the n-th when n/(kills+2) of it is cataloged.
            flow.wait_for_cataloged(RECORDS * (index + 1) // (len(schedule) + 2))
            before = time.monotonic()
            fleet.kill(name)
            fleet.restart(name)
            kills.append((name, flow.cataloged(), time.monotonic() - before))
        seconds = flow.wait()
    state = verify_exact(reliability_env, flow.expected)

    assert [name for name, _, _ in kills] == schedule
    assert state.documents == RECORDS and state.shared_objects == RECORDS
    assert state.rejected == [], "a good record was dead-lettered"
    assert state.quarantined == 0
    print(
        f"\n{RECORDS} records, {len(kills)} kills, {seconds:.0f} s; "
        f"{state.duplicate_deidentified_events} redelivered de-identified events absorbed; "
        f"kills at {[(n, c, round(s, 1)) for n, c, s in kills]}"
    )
