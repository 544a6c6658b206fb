"""A catalog with a small world: three institutions, projects, agreements, users, records.

Agreements:  north -> onco (every kind), south -> onco (images only),
             east -> cardio, south -> cardio (expired), north -> cardio (revoked).
Members:     alice in onco, bob in cardio, carol in idle (no agreements), dave in none.
Records:     released images from north, south and east; a north image whose
             detector flagged burned-in text (withheld); a south case report (not
             shared with onco, which takes south's images only); a north and an east
             case report with model results; a north record quarantined.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from medshare_shared.events import ModelResult, RecordQuarantined
from tests.integration.catalog.support import (
    Catalog,
    catalog_env,
    detector,
    image_bytes,
    running_catalog,
)


@dataclass
class World:
    catalog: Catalog
    ids: dict[str, str] = field(default_factory=dict)
    study_uid: str = ""

    def auth(self, user: str) -> dict[str, str]:
        role = {"sam": "steward", "ada": "admin"}.get(user, "researcher")
        return self.catalog.auth(user, role)  # type: ignore[arg-type]


def case_report(codes: list[str], year: int, zip3: str) -> tuple[bytes, dict[str, object]]:
    document = {"patient": {"sex": "F", "zip3": zip3}, "encounter_year": year, "diagnoses": codes}
    metadata = {
        "sex": "F",
        "age_band": "60-69",
        "zip3": zip3,
        "encounter_year": year,
        "diagnosis_codes": codes,
        "feature_groups": ["cytology"],
        "description": f"Case report {year} | " + "; ".join(codes) + " | cytology panel",
    }
    payload = {**document, "nonce": uuid.uuid4().hex}
    return json.dumps(payload).encode(), metadata


def malignancy(probability: float, version: str = "1.0.0") -> ModelResult:
    return ModelResult(
        model_name="breast-cancer-malignancy",
        model_version=version,
        outputs={
            "malignancy_probability": probability,
            "label": "malignant" if probability >= 0.5 else "benign",
        },
        confidence=max(probability, 1 - probability),
    )


async def build_world(catalog: Catalog) -> World:
    world = World(catalog)
    directory = catalog.directory
    for project in ("onco", "cardio", "idle"):
        await directory.create_project(project)
    await directory.add_member("onco", "alice")
    await directory.add_member("cardio", "bob")
    await directory.add_member("idle", "carol")
    await directory.grant("north", "onco")
    await directory.grant("south", "onco", kinds=("dicom",))
    await directory.grant("east", "cardio")
    past = datetime.now(UTC) - timedelta(days=1)
    await directory.grant("south", "cardio", valid_until=past)
    revoked = await directory.grant("north", "cardio")
    await directory.revoke(revoked["_id"])

    study = "1.2.826.0.1.3680043.8.498.4242"
    world.study_uid = study
    start = datetime(2024, 5, 1, tzinfo=UTC)
    data, meta = image_bytes("CT_small.dcm", study_uid=study, study_date="20210304")
    world.ids["north_ct"] = await catalog.add_record(
        institution="north",
        kind="dicom",
        metadata=meta,
        data=data,
        results=[detector(False)],
        ingested_at=start,
    )
    data, meta = image_bytes(
        "CT_small.dcm", study_uid=study, series_uid=meta["series_instance_uid"], instance_number=2
    )
    world.ids["north_ct_2"] = await catalog.add_record(
        institution="north", kind="dicom", metadata=meta, data=data, ingested_at=start
    )
    data, meta = image_bytes(
        "MR_small.dcm", study_date="20190615", description="BRAIN MR", body_part="BRAIN"
    )
    world.ids["south_mr"] = await catalog.add_record(
        institution="south",
        kind="dicom",
        metadata=meta,
        data=data,
        ingested_at=start + timedelta(minutes=1),
    )
    data, meta = image_bytes("CT_small.dcm", study_date="20220101", description="ABDOMEN CT")
    world.ids["east_ct"] = await catalog.add_record(
        institution="east",
        kind="dicom",
        metadata=meta,
        data=data,
        ingested_at=start + timedelta(minutes=2),
    )
    data, meta = image_bytes("CT_small.dcm", study_date="20200202", description="FLAGGED CT")
    world.ids["north_flagged"] = await catalog.add_record(
        institution="north",
        kind="dicom",
        metadata=meta,
        data=data,
        results=[detector(True)],
        ingested_at=start + timedelta(minutes=3),
    )
    data, meta = case_report(["C50.9"], 2023, "627")
    world.ids["north_case"] = await catalog.add_record(
        institution="north",
        kind="case_report",
        metadata=meta,
        data=data,
        results=[malignancy(0.91)],
        ingested_at=start + timedelta(minutes=4),
    )
    data, meta = case_report(["E11.9"], 2022, "303")
    world.ids["east_case"] = await catalog.add_record(
        institution="east",
        kind="case_report",
        metadata=meta,
        data=data,
        results=[malignancy(0.12)],
        ingested_at=start + timedelta(minutes=5),
    )
    data, meta = case_report(["D24.9"], 2021, "100")
    world.ids["south_case"] = await catalog.add_record(
        institution="south",
        kind="case_report",
        metadata=meta,
        data=data,
        ingested_at=start + timedelta(minutes=6),
    )
    quarantined_id = "q" * 64
    await catalog.records.fold_quarantined(
        RecordQuarantined(
            record_id=quarantined_id,
            institution="north",
            kind="dicom",
            stage="anonymizer",
            reason="verifier found source identifiers in: PatientName",
        ),
        uuid.uuid4().hex,
        start,
    )
    world.ids["quarantined"] = quarantined_id
    return world


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    # Exact counts: these tests check scoping by counting a handful of records
    # (small-cell suppression has its own tests in tests/security).
    env = catalog_env(
        stack_env, Path(tmp_path_factory.mktemp("keys")), MEDSHARE_CATALOG_SMALL_CELL="1"
    )
    async with running_catalog(env) as catalog:
        yield await build_world(catalog)
