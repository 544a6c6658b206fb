"""Copies of one DICOM instance over real Kafka: listed once, every provenance kept,
a copy with other pixels withheld as a conflict, redelivery changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from medshare_shared.events import DeidReport, RecordDeidentified
from tests.integration.catalog.support import catalog_env, image_bytes, running_catalog
from tests.integration.catalog.test_catalog_folding import (
    drained,
    event,
    eventually,
    publish_all,
    snapshot,
)


def other_pixels(data: bytes) -> bytes:
    dataset = pydicom.dcmread(io.BytesIO(data))
    pixels = dataset.pixel_array.copy()
    pixels[0, :] = np.iinfo(pixels.dtype).max // 2
    dataset.PixelData = pixels.tobytes()
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


async def test_copies_of_one_instance_are_one_record(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        data, meta = image_bytes("CT_small.dcm")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        copies = [("late", data, 3), ("first", data, 1), ("clash", other_pixels(data), 2)]
        events = []
        for name, content, minutes in copies:
            key = f"inst-{name}/dicom/{name}.dcm"  # under its institution, as the catalog checks
            sha = await catalog.put_object(content, key, "application/dicom")
            payload = RecordDeidentified(
                record_id=name, institution=f"inst-{name}", kind="dicom",
                patient_pseudonym="p", shared_bucket=catalog.bucket, shared_key=key,
                sha256=sha, size=len(content), content_type="application/dicom",
                ingested_at=start + timedelta(minutes=minutes), metadata=meta,
                report=DeidReport(profile="basic"), door="stow",
            )  # fmt: skip
            at = start + timedelta(minutes=10 - minutes)  # folded in another order
            events.append(event(payload, "records.deidentified", at, name))
        await publish_all(
            catalog.settings, {"deidentified": events, "inferred": [], "quarantined": []}
        )

        async def settled() -> dict[str, dict[str, Any]] | None:
            documents = {d["_id"]: d for d in await snapshot(catalog)}
            first = documents.get("first") or {}
            # A fold's provenance and its release state land in separate writes.
            released = all(
                "release" in documents.get(name, {}) for name in ("first", "late", "clash")
            )
            return documents if len(first.get("provenances") or []) == 3 and released else None

        documents = await eventually(settled, "three provenances and every copy's release state")
        first = documents["first"]
        assert first["cataloged"] and first["release"]["state"] == "released"
        assert [p["record_id"] for p in first["provenances"]] == ["first", "clash", "late"]
        assert [p["conflict"] for p in first["provenances"]] == [False, True, False]
        assert documents["late"]["release"]["state"] == "duplicate"
        assert not documents["late"]["cataloged"]
        clash = documents["clash"]
        assert clash["release"]["state"] == "withheld" and "conflict" in clash["release"]["reason"]

        auth = catalog.auth("steward", "admin")
        listed = await catalog.http.get("/dicomweb/instances", headers=auth)
        assert listed.status_code == 200 and len(listed.json()) == 1

        await drained(catalog.settings, catalog.settings.consumer_group)
        before = await snapshot(catalog)
        await publish_all(
            catalog.settings, {"deidentified": events, "inferred": [], "quarantined": []}
        )
        await drained(catalog.settings, catalog.settings.consumer_group)
        assert await snapshot(catalog) == before
