"""Issue 13's forged event: `records.deidentified` claiming institution A while pointing at
institution B's object in the shared zone. The catalog refuses it (dead letter on
`records.rejected` with the reason) and A's researchers never see B's bytes; the genuine
event for B's object, published after it, is folded as usual.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medshare_catalog.handlers import object_key_problem
from medshare_shared.events import DeidReport, RecordDeidentified, envelope
from medshare_shared.kafka import make_broker, publish_event
from tests.integration.catalog.support import catalog_env, image_bytes, running_catalog
from tests.integration.catalog.test_catalog_folding import eventually
from tests.integration.ingest.conftest import read_topic


def deidentified(
    institution: str, key: str, bucket: str, sha: str, size: int
) -> RecordDeidentified:
    record_id = hashlib.sha256(f"{institution}/{key}".encode()).hexdigest()
    return RecordDeidentified(
        record_id=record_id,
        institution=institution,
        kind="dicom",
        patient_pseudonym="p" * 32,
        shared_bucket=bucket,
        shared_key=key,
        sha256=sha,
        size=size,
        content_type="application/dicom",
        ingested_at=datetime.now(UTC),
        report=DeidReport(profile="test"),
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("north/dicom/a.dcm", None),
        ("south/dicom/a.dcm", "object key outside the claimed institution's prefix"),
        ("north/../south/dicom/a.dcm", "object key outside the claimed institution's prefix"),
        ("north//dicom/a.dcm", "object key outside the claimed institution's prefix"),
        ("northern/dicom/a.dcm", "object key outside the claimed institution's prefix"),
        ("dicom/a.dcm", "object key outside the claimed institution's prefix"),
    ],
)
def test_object_keys_must_lie_under_the_claimed_institution(key: str, expected: str | None) -> None:
    record = deidentified("north", key, "medshare-shared", "0" * 64, 1)
    assert object_key_problem(record, "medshare-shared") == expected
    assert object_key_problem(record, "another-bucket") == "object outside the shared zone"


async def test_forged_event_pointing_at_another_institutions_object_is_refused(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        data, _ = image_bytes()
        key = "south/dicom/" + hashlib.sha256(data).hexdigest() + ".dcm"
        sha = await catalog.put_object(data, key, "application/dicom")
        forged = deidentified("north", key, catalog.bucket, sha, len(data))
        genuine = deidentified("south", key, catalog.bucket, sha, len(data))
        topics = catalog.settings.topics
        broker = make_broker(catalog.settings, client_id="medshare-test-forger")
        await broker.start()
        try:
            for payload in (forged, genuine):
                event = envelope(payload, event_type="records.deidentified", producer="anonymizer")
                await publish_event(
                    broker, topics.deidentified, event, key=payload.record_id, service="test"
                )
        finally:
            await broker.stop()

        async def folded_genuine() -> bool:
            return await catalog.records.get_any(genuine.record_id) is not None

        await eventually(folded_genuine, "the genuine event to be folded")
        assert await catalog.records.get_any(forged.record_id) is None
        admin = catalog.auth("ada", "admin")
        answer = await catalog.http.get(f"/records/{forged.record_id}", headers=admin)
        assert answer.status_code == 404
        rejected = await read_topic(catalog.settings.kafka_bootstrap, topics.rejected, expect=1)
        reasons = [event["payload"]["reason"] for event in rejected]
        assert any("outside the claimed institution's prefix" in reason for reason in reasons), (
            reasons
        )
        assert len(rejected) == 1  # the forged event only
