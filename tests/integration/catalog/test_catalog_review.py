"""Steward review of withheld records: open, preview, release or reject, each audited.

Quarantined records never reach the shared zone; the anonymizer keeps their
de-identified candidate in the held zone, and these tests put one there as it
would. A steward sees it (thumbnail or text, reason, flagged regions) and a release
copies it to the shared zone, where researchers with an agreement then find it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from medshare_shared.events import DeidReport, FlaggedRegion, RecordDeidentified, RecordQuarantined
from tests.integration.catalog.support import Catalog, catalog_env, image_bytes, running_catalog

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def catalog(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Catalog]:
    run = uuid.uuid4().hex[:10]
    env = catalog_env(
        stack_env,
        Path(tmp_path_factory.mktemp("keys")),
        MEDSHARE_HELD_BUCKET=f"held-{run}",
        MEDSHARE_CATALOG_SMALL_CELL="1",
    )
    async with running_catalog(env) as running:
        await running.objects.ensure_bucket(running.settings.held_bucket)  # the anonymizer's job
        await running.directory.create_project("onco")
        await running.directory.add_member("onco", "alice")
        await running.directory.grant("north", "onco")
        yield running


async def quarantine(
    catalog: Catalog, kind: str, data: bytes | None, metadata: dict[str, object]
) -> str:
    """Fold a quarantine as the anonymizer publishes it, with its held candidate if any."""
    record_id = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    candidate = None
    if data is not None:
        ext, content_type = (
            ("dcm", "application/dicom") if kind == "dicom" else ("json", "application/json")
        )
        key = f"north/{kind}/{record_id}.{ext}"
        stored = await catalog.objects.put(catalog.settings.held_bucket, key, data, content_type)
        candidate = RecordDeidentified(
            record_id=record_id, institution="north", kind=kind,  # type: ignore[arg-type]
            patient_pseudonym="p" * 32, shared_bucket=stored.bucket, shared_key=key,
            sha256=stored.sha256, size=stored.size, content_type=content_type,
            ingested_at=datetime.now(UTC) - timedelta(minutes=5), metadata=metadata,
            report=DeidReport(profile="test profile"),
        )  # fmt: skip
    reason = "burned-in annotation suspected (Modality=US) and clean-pixel-data not enabled"
    await catalog.records.fold_quarantined(
        RecordQuarantined(
            record_id=record_id, institution="north", kind=kind,  # type: ignore[arg-type]
            stage="anonymizer", reason=reason, candidate=candidate,
            regions=[FlaggedRegion(x0=0, y0=0, x1=1, y1=0.05, source="top band")],
        ),
        uuid.uuid4().hex,
        datetime.now(UTC) - timedelta(minutes=1),
    )  # fmt: skip
    return record_id


async def audited(catalog: Catalog, action: str, record_id: str) -> list[dict[str, object]]:
    return [
        entry
        async for entry in catalog.db["audit"].find({"action": action, "record_ids": record_id})
    ]


async def test_a_steward_opens_previews_and_releases_a_quarantined_image(catalog: Catalog) -> None:
    data, metadata = image_bytes("CT_small.dcm", description="HELD US")
    record_id = await quarantine(catalog, "dicom", data, metadata)
    steward, researcher = catalog.auth("sam", "steward"), catalog.auth("alice", "researcher")

    queue = (await catalog.http.get("/review/queue", headers=steward)).json()
    [item] = [i for i in queue["items"] if i["record_id"] == record_id]
    assert item["preview"] == "held" and item["releasable"]
    assert "candidate" not in item.get("quarantine", {})  # stewards open it for that

    opened = await catalog.http.get(f"/review/{record_id}", headers=steward)
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert body["release"]["state"] == "withheld"
    assert body["release"]["reason"].startswith("quarantined: burned-in annotation suspected")
    assert body["flagged_regions"][0]["y1"] == 0.05
    assert body["candidate"]["content_type"] == "application/dicom"
    preview = await catalog.http.get(f"/review/{record_id}/preview.png", headers=steward)
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    assert preview.headers["cache-control"] == "no-store"

    # Researchers see none of it, and withheld records stay out of their routes.
    for path in (f"/review/{record_id}", f"/review/{record_id}/preview.png"):
        assert (await catalog.http.get(path, headers=researcher)).status_code == 403
    assert (await catalog.http.get(f"/records/{record_id}", headers=researcher)).status_code == 404

    released = await catalog.http.post(
        f"/records/{record_id}/review",
        json={"decision": "release", "reason": "checked: no text in the band"},
        headers=steward,
    )
    assert released.status_code == 200, released.text
    assert released.json()["release"]["state"] == "released"
    # Now in the shared zone, found and downloadable by a researcher with an agreement.
    record = (await catalog.http.get(f"/records/{record_id}", headers=researcher)).json()
    assert record["object"]["bucket"] == catalog.bucket
    steps = [step["step"] for step in record["lineage"]]
    assert "de-identified" in steps and steps[-1] == "reviewed", steps
    link = await catalog.http.get(f"/records/{record_id}/download", headers=researcher)
    assert link.status_code == 200
    for action in ("review_open", "review_preview", "review"):
        assert await audited(catalog, action, record_id), action


async def test_without_a_candidate_release_is_refused_and_reject_is_kept(catalog: Catalog) -> None:
    record_id = await quarantine(catalog, "dicom", None, {})
    steward = catalog.auth("sam", "steward")
    opened = (await catalog.http.get(f"/review/{record_id}", headers=steward)).json()
    assert opened["preview"] is None and not opened["releasable"]
    missing = await catalog.http.get(f"/review/{record_id}/preview.png", headers=steward)
    assert missing.status_code == 404 and "detail" in missing.json()
    refused = await catalog.http.post(
        f"/records/{record_id}/review",
        json={"decision": "release", "reason": "looks fine"},
        headers=steward,
    )
    assert refused.status_code == 409 and "no de-identified candidate" in refused.json()["detail"]
    rejected = await catalog.http.post(
        f"/records/{record_id}/review",
        json={"decision": "reject", "reason": "not shareable"},
        headers=steward,
    )
    assert rejected.status_code == 200 and rejected.json()["release"]["state"] == "rejected"
    entries = await audited(catalog, "review", record_id)
    assert {entry["status"] for entry in entries} == {409, 200}
    unknown = await catalog.http.get(f"/review/{'0' * 64}", headers=steward)
    assert unknown.status_code == 404 and "detail" in unknown.json()


async def test_a_steward_reads_a_held_case_report(catalog: Catalog) -> None:
    document = {"narrative": "Patient [NAME] presented with a mass.", "diagnoses": ["C50.9"]}
    record_id = await quarantine(
        catalog, "case_report", json.dumps(document).encode(), {"diagnosis_codes": ["C50.9"]}
    )
    steward = catalog.auth("sam", "steward")
    text = await catalog.http.get(f"/review/{record_id}/text", headers=steward)
    assert text.status_code == 200, text.text
    assert text.json() == {"record_id": record_id, "source": "held", "document": document}
    no_image = await catalog.http.get(f"/review/{record_id}/preview.png", headers=steward)
    assert no_image.status_code == 404
