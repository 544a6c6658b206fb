"""`medshare models backfill NAME VERSION` against real Kafka and S3.

Records already de-identified (the topic holds them; no service is running) get a
result from the backfilled version: every record the model applies to, once, with
per-record errors where inputs are bad; records it does not apply to, duplicates and
unreadable events are skipped. Running it again republishes the same event ids, so the
catalog (which folds by event id, keyed name@version) changes nothing.
"""

from __future__ import annotations

import asyncio

import pytest

from medshare_inference.models import TrainedModel
from medshare_inference.models.breast_cancer import load_data
from medshare_shared.case_report import CYTOLOGY_FEATURES

from .conftest import Kafka, deidentified, medshare_models, register

NAME = "breast-cancer-malignancy"


async def backfill(env: dict[str, str], version: str) -> str:
    return await medshare_models(env, "backfill", NAME, version, "--batch-size", "7")


async def test_backfill_answers_every_record_once_and_is_idempotent(
    env: dict[str, str], kafka: Kafka, tabular_models: dict[str, TrainedModel]
) -> None:
    await register(
        env,
        {
            f"{NAME}@1.0.0": tabular_models[f"{NAME}@1.0.0"],
            f"{NAME}@1.0.1": tabular_models[f"{NAME}@1.0.1"],
        },
        production=[f"{NAME}@1.0.0"],
    )
    x, _ = load_data()
    reports = [dict(zip(CYTOLOGY_FEATURES, map(float, row), strict=True)) for row in x[:30]]
    for index, features in enumerate(reports):
        await kafka.publish(deidentified(f"cr-{index:02d}", features=features))
    await kafka.publish(deidentified("cr-bad", features={**reports[0], "mean_area": -1.0}))
    await kafka.publish(deidentified("cr-05", features=reports[5]))  # a redelivered copy
    await kafka.publish(deidentified("metabolic-only", features={"bmi": 30.0, "age": 40.0}))
    await kafka.publish(deidentified("image", "dicom", metadata={"rows": 64, "columns": 64}))
    await kafka.publish_raw(b"{not json")

    output = await backfill(env, "1.0.1")
    assert "read from records.deidentified" in output
    first = await kafka.wait_for(31, timeout_s=60)
    await asyncio.sleep(1)
    await kafka.poll()
    first = [event for _, event in kafka.results]
    assert len(first) == 31  # 30 reports + the bad one; no duplicate, nothing for the rest
    assert {e.payload.result.model_name for e in first} == {NAME}
    assert {e.payload.result.model_version for e in first} == {"1.0.1"}
    by_record = {e.payload.record_id: e.payload.result for e in first}
    assert set(by_record) == {f"cr-{i:02d}" for i in range(30)} | {"cr-bad"}
    assert by_record["cr-bad"].error is not None
    assert by_record["cr-bad"].error.startswith("out of range: mean_area=-1.0")
    assert all(by_record[f"cr-{i:02d}"].error is None for i in range(30))
    assert "1 x out of range" in output
    for label, count in (
        ("the model applies to", 31),
        ("duplicates skipped", 1),
        ("unreadable events skipped", 1),
    ):
        assert any(
            label in line and line.rstrip(" │|").endswith(str(count))
            for line in output.splitlines()
        ), label

    await backfill(env, "1.0.1")
    second = (await kafka.wait_for(62, timeout_s=60))[31:]
    assert sorted(str(e.event_id) for e in second) == sorted(str(e.event_id) for e in first)
    again = {e.payload.record_id: e.payload.result for e in second}
    for record, result in by_record.items():  # same answers, up to float noise of batching
        assert again[record].error == result.error
        assert again[record].outputs.get("label") == result.outputs.get("label")
        assert again[record].outputs.get("malignancy_probability", 0) == pytest.approx(
            result.outputs.get("malignancy_probability", 0), abs=1e-6
        )
