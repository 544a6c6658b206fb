"""A promotion takes effect in a running service within seconds, while events flow.

The alias poll is set to ten minutes, so only the models.changed announcement that
`medshare models promote` publishes can explain a switch inside the deadline. Records
keep arriving throughout: none may be lost or answered twice, and per patient (one
partition) the versions must go old -> new, never back.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from medshare_inference.models import TrainedModel
from medshare_inference.models.diabetes import load_data
from medshare_shared.case_report import METABOLIC_FEATURES
from tests.support.pipeline import running_services

from .conftest import Kafka, deidentified, medshare_models, register

NAME = "diabetes-progression"
SWITCH_DEADLINE_S = 10.0
PATIENTS = 6


async def promote(env: dict[str, str], version: str) -> str:
    return await medshare_models(env, "promote", NAME, version)


async def test_promoted_version_serves_within_seconds_while_events_flow(
    env: dict[str, str],
    kafka: Kafka,
    service_logs: Path,
    tabular_models: dict[str, TrainedModel],
) -> None:
    await register(
        env,
        {
            f"{NAME}@1.0.0": tabular_models[f"{NAME}@1.0.0"],
            f"{NAME}@1.0.1": tabular_models[f"{NAME}@1.0.1"],
        },
        production=[f"{NAME}@1.0.0"],
    )
    env = {**env, "MEDSHARE_MODEL_POLL_S": "600"}
    x, _ = load_data()
    rows = [dict(zip(METABOLIC_FEATURES, map(float, row), strict=True)) for row in x[:20]]
    published: list[str] = []
    stop = asyncio.Event()

    async def feed() -> None:
        index = 0
        while not stop.is_set():
            record = f"r{index:05d}"
            patient = f"patient-{index % PATIENTS}"
            await kafka.publish(deidentified(record, features=rows[index % 20], patient=patient))
            published.append(record)
            index += 1
            await asyncio.sleep(0.02)

    def versions_seen() -> set[str]:
        return {event.payload.result.model_version for _, event in kafka.results}

    with running_services(env, service_logs, names=("inference",)):
        feeder = asyncio.create_task(feed())
        try:
            await kafka.wait_for(30, timeout_s=60)  # the old version is serving
            output = await promote(env, "1.0.1")
            promoted_at = time.monotonic()
            assert "announced on models.changed" in output
            while "1.0.1" not in versions_seen():
                assert time.monotonic() - promoted_at < SWITCH_DEADLINE_S, "no switch in time"
                await kafka.poll()
            switched_at = min(
                t for t, e in kafka.results if e.payload.result.model_version == "1.0.1"
            )
            await asyncio.sleep(2)  # more records under the new version
        finally:
            stop.set()
            await feeder
        await kafka.wait_for(len(published), timeout_s=60)

    results = [event.payload for _, event in kafka.results]
    answered = [r.record_id for r in results]
    assert sorted(answered) == sorted(published)  # every record exactly once
    assert all(r.result.error is None for r in results)
    assert switched_at - promoted_at < SWITCH_DEADLINE_S
    order = {record: index for index, record in enumerate(published)}
    for patient in range(PATIENTS):
        mine = sorted(
            (r for r in results if r.patient_pseudonym == f"patient-{patient}"),
            key=lambda r: order[r.record_id],
        )
        versions = [r.result.model_version for r in mine]
        assert versions == sorted(versions), f"patient-{patient} went back to the old version"
        assert versions[0] == "1.0.0" and versions[-1] == "1.0.1"
    # Two different models really answered: the same input gets two different scores.
    scores: dict[tuple[int, str], float] = {}
    for r in results:
        scores[(order[r.record_id] % 20, r.result.model_version)] = r.result.outputs[
            "progression_score"
        ]
    both = [row for row in range(20) if (row, "1.0.0") in scores and (row, "1.0.1") in scores]
    assert both and any(scores[(row, "1.0.0")] != scores[(row, "1.0.1")] for row in both)
