"""The inference service as a real process over real Kafka and S3.

De-identified records go in on records.deidentified; what must come out on
records.inferred: one result per (record, applicable model) with name and version,
per-record errors for bad inputs, the burned-in text verdict for images read from the
shared zone, nothing for records no model applies to; and the consumer group's offsets
committed only once those results are out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from medshare_inference.models import TrainedModel
from medshare_inference.models.breast_cancer import load_data as load_cytology
from medshare_inference.models.diabetes import load_data as load_metabolic
from medshare_inference.models.image_sources import deid_real_images, pydicom_files
from medshare_shared.case_report import CYTOLOGY_FEATURES, METABOLIC_FEATURES
from tests.support.pipeline import running_services

from .conftest import Kafka, deidentified, register, store_for, until


def cytology(row: int) -> dict[str, float]:
    x, _ = load_cytology()
    return dict(zip(CYTOLOGY_FEATURES, map(float, x[row]), strict=True))


def metabolic(row: int) -> dict[str, float]:
    x, _ = load_metabolic()
    return dict(zip(METABOLIC_FEATURES, map(float, x[row]), strict=True))


async def test_records_in_results_out_with_errors_and_image_verdicts(
    env: dict[str, str],
    kafka: Kafka,
    service_logs: Path,
    tabular_models: dict[str, TrainedModel],
    detector: TrainedModel,
) -> None:
    await register(
        env,
        {
            "breast-cancer-malignancy@1.0.0": tabular_models["breast-cancer-malignancy@1.0.0"],
            "diabetes-progression@1.0.0": tabular_models["diabetes-progression@1.0.0"],
            "burned-in-text@1.0.0": detector,
        },
        production=[
            "breast-cancer-malignancy@1.0.0",
            "diabetes-progression@1.0.0",
            "burned-in-text@1.0.0",
        ],
    )
    store = store_for(env)
    shared = env["MEDSHARE_SHARED_BUCKET"]
    await store.ensure_bucket(shared)
    ultrasound = next(i for i in deid_real_images() if i.name == "GREYSCALE_IMAGE.dcm")
    clean_ct = {p.name: p for p in pydicom_files()}["693_J2KI.dcm"]  # a held-out family
    await store.put(shared, "dicom/us.dcm", ultrasound.data, "application/dicom")
    await store.put(shared, "dicom/ct.dcm", clean_ct.read_bytes(), "application/dicom")
    pixels = {"rows": 512, "columns": 512}
    events = [
        deidentified("cyto", features=cytology(0)),
        deidentified("meta", features=metabolic(0)),
        deidentified("both", features={**cytology(1), **metabolic(1)}),
        deidentified("cyto-out-of-range", features={**cytology(2), "worst_area": 1e9}),
        deidentified("meta-incomplete", features={"bmi": 31.0, "age": 50.0}),
        deidentified(
            "us", "dicom", metadata={**pixels, "modality": "US"}, shared=(shared, "dicom/us.dcm")
        ),
        deidentified(
            "ct", "dicom", metadata={**pixels, "modality": "CT"}, shared=(shared, "dicom/ct.dcm")
        ),
        deidentified("gone", "dicom", metadata=pixels, shared=(shared, "dicom/missing.dcm")),
        deidentified("sr", "dicom", metadata={"modality": "SR", "rows": None}),
        deidentified("no-features"),
    ]
    with running_services(env, service_logs, names=("inference",)) as services:
        for event in events:
            await kafka.publish(event)
        expected = 9  # cyto, meta, both x2, two errors, us, ct, gone; nothing for sr/no-features
        results = await kafka.wait_for(expected, timeout_s=90)
        await asyncio.sleep(2)  # anything extra would have arrived by now
        await kafka.poll()
        results = [event for _, event in kafka.results]
        served = httpx.get(f"{services['inference'].url}/models", timeout=5).json()

        async def all_committed() -> bool:
            return await kafka.committed("medshare-inference") == len(events)

        await until(all_committed, 30, "the consumer group to commit every record")

    by_key = {(r.payload.record_id, r.payload.result.model_name): r.payload for r in results}
    assert len(results) == expected == len(by_key)
    assert set(by_key) == {
        ("cyto", "breast-cancer-malignancy"),
        ("meta", "diabetes-progression"),
        ("both", "breast-cancer-malignancy"),
        ("both", "diabetes-progression"),
        ("cyto-out-of-range", "breast-cancer-malignancy"),
        ("meta-incomplete", "diabetes-progression"),
        ("us", "burned-in-text"),
        ("ct", "burned-in-text"),
        ("gone", "burned-in-text"),
    }
    for payload in by_key.values():
        assert payload.result.model_version == "1.0.0"
        assert payload.patient_pseudonym == f"patient-{payload.record_id}"
    cyto = by_key[("cyto", "breast-cancer-malignancy")].result
    assert cyto.outputs["label"] == "malignant"  # row 0 of the data set is malignant
    assert cyto.error is None and cyto.confidence is not None and cyto.confidence >= 0.5
    assert 25 < by_key[("meta", "diabetes-progression")].result.outputs["progression_score"] < 350
    out_of_range = by_key[("cyto-out-of-range", "breast-cancer-malignancy")].result
    assert out_of_range.error is not None and out_of_range.outputs == {}
    assert out_of_range.error.startswith("out of range: worst_area=1000000000.0 (expected ")
    incomplete = by_key[("meta-incomplete", "diabetes-progression")].result.error
    assert incomplete is not None and "missing field: glu" in incomplete
    assert "missing field: bmi" not in incomplete
    us = by_key[("us", "burned-in-text")].result
    assert us.outputs["has_text"] is True and us.outputs["text_cells"]
    assert len(us.outputs["grid"]) == 4 and all(len(row) == 4 for row in us.outputs["grid"])
    assert [0, 0] in us.outputs["text_cells"]  # the name/ID header is in the top-left cell
    assert by_key[("ct", "burned-in-text")].result.outputs["has_text"] is False
    gone = by_key[("gone", "burned-in-text")].result
    assert gone.error == "de-identified object not found in the shared zone"
    assert served["device"] == "cpu"
    assert set(served["models"]) == {
        "breast-cancer-malignancy",
        "diabetes-progression",
        "burned-in-text",
    }
