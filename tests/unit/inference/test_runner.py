"""BatchRunner and ModelHost logic against an in-memory object store (the real path with
Kafka and S3 is in tests/integration/inference)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import torch
from minio.error import S3Error

from medshare_inference.models import TrainedModel
from medshare_inference.models.breast_cancer import load_data
from medshare_inference.models.image_sources import pydicom_files
from medshare_inference.promotions import ModelChanged
from medshare_inference.registry import ModelRegistry, select_models
from medshare_inference.runner import BatchRunner
from medshare_inference.served_models import ModelHost
from medshare_inference.serving import LoadedModel
from medshare_shared.case_report import CYTOLOGY_FEATURES
from medshare_shared.events import DeidentifiedEvent, DeidReport, RecordDeidentified, envelope

from .conftest import MemoryStore, loaded
from .test_serving_images import BrightnessNet, manifest

BUCKET = "shared-unit"
FILES = {path.name: path for path in pydicom_files()}


def event(record_id: str, kind: str, **fields: Any) -> DeidentifiedEvent:
    payload = RecordDeidentified(
        record_id=record_id,
        institution="unit",
        kind=kind,  # type: ignore[arg-type]
        patient_pseudonym=f"p-{record_id}",
        shared_bucket=BUCKET,
        shared_key=f"{kind}/{record_id}",
        sha256="0" * 64,
        size=1,
        content_type="application/dicom",
        ingested_at=datetime.now(UTC),
        report=DeidReport(profile="unit"),
        **fields,
    )
    built: DeidentifiedEvent = envelope(payload, event_type="records.deidentified", producer="t")
    return built


def cytology() -> dict[str, float]:
    x, _ = load_data()
    return dict(zip(CYTOLOGY_FEATURES, map(float, x[0]), strict=True))


async def test_mixed_batch_is_routed_by_manifest_and_errors_stay_per_record(
    memory_store: MemoryStore, classifier: TrainedModel
) -> None:
    await memory_store.ensure_bucket(BUCKET)
    image_model = LoadedModel(manifest(), BrightnessNet(), torch.device("cpu"))
    models = {"breast-cancer-malignancy": loaded(classifier), "burned-in-text": image_model}
    await memory_store.put(BUCKET, "dicom/ct", FILES["CT_small.dcm"].read_bytes(), "")
    await memory_store.put(BUCKET, "dicom/garbage", b"not dicom at all", "")
    image = {"rows": 128, "columns": 128, "modality": "CT"}
    events = [
        event("report", "case_report", features=cytology()),
        event("bad-report", "case_report", features={**cytology(), "mean_radius": -5.0}),
        event("ct", "dicom", metadata=image),
        event("missing", "dicom", metadata=image),
        event("garbage", "dicom", metadata=image),
        event("structured-report", "dicom", metadata={"rows": None, "modality": "SR"}),
    ]

    def select(record: RecordDeidentified) -> list[str]:
        manifests = [m.manifest for m in models.values()]
        return select_models(manifests, record.kind, record.metadata, record.features)

    outcomes = await BatchRunner(memory_store.as_store()).run(events, models, select)
    by_record = {(o.event.payload.record_id, o.model_name): o.result for o in outcomes}
    assert set(by_record) == {
        ("report", "breast-cancer-malignancy"),
        ("bad-report", "breast-cancer-malignancy"),
        ("ct", "burned-in-text"),
        ("missing", "burned-in-text"),
        ("garbage", "burned-in-text"),
    }  # the structured report has no pixels: no image model applies
    assert by_record[("report", "breast-cancer-malignancy")]["label"] in {"malignant", "benign"}
    assert str(by_record[("bad-report", "breast-cancer-malignancy")]["error"]).startswith(
        "out of range: mean_radius=-5.0"
    )
    assert isinstance(by_record[("ct", "burned-in-text")]["has_text"], bool)
    assert by_record[("missing", "burned-in-text")] == {
        "error": "de-identified object not found in the shared zone"
    }
    assert str(by_record[("garbage", "burned-in-text")]["error"]).startswith(
        "not a readable DICOM file"
    )


class UnreachableStore(MemoryStore):
    async def get(self, bucket: str, key: str) -> bytes:
        raise S3Error(None, "InternalError", "down", "r", "q", "h")  # type: ignore[arg-type]


async def test_an_unreachable_store_fails_the_batch_instead_of_answering_errors() -> None:
    image_model = LoadedModel(manifest(), BrightnessNet(), torch.device("cpu"))
    runner = BatchRunner(UnreachableStore().as_store())
    with pytest.raises(S3Error):
        await runner.run(
            [event("ct", "dicom", metadata={"rows": 1, "columns": 1})],
            {"burned-in-text": image_model},
            lambda record: ["burned-in-text"],
        )


async def test_host_switches_versions_on_a_change_and_keeps_serving_when_tampered(
    memory_store: MemoryStore, regressor: TrainedModel
) -> None:
    registry = ModelRegistry(memory_store.as_store(), "models-host")
    name = regressor.manifest.name
    await registry.register(name, "1.0.0", regressor.module, regressor.manifest)
    newer = regressor.manifest.model_copy(update={"version": "1.0.1"})
    await registry.register(name, "1.0.1", regressor.module, newer)
    await registry.promote(name, "1.0.0")
    host = ModelHost(registry)
    assert await host.refresh() == [f"{name}@1.0.0"]
    assert await host.refresh() == []  # nothing moved, nothing reloaded

    await registry.promote(name, "1.0.1")
    change = envelope(
        ModelChanged(name=name, version="1.0.1", changed_at=datetime.now(UTC)),
        event_type="models.changed",
        producer="t",
    )
    await host.on_model_changed(change)
    assert host.loaded[name].manifest.version == "1.0.1"

    third = regressor.manifest.model_copy(update={"version": "1.0.2"})
    await registry.register(name, "1.0.2", regressor.module, third)
    key = registry.weights_key(name, "1.0.2")
    memory_store.buckets["models-host"][key] = memory_store.buckets["models-host"][key][:-1]
    await registry.promote(name, "1.0.2")
    assert await host.refresh() == []
    assert host.loaded[name].manifest.version == "1.0.1"  # the tampered version is refused
