"""HTTP doors against real Kafka and S3: single instances, STOW-RS, case reports, FHIR, keys."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest

from medshare_ingest.doors.stow.outcomes import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_DATA_SET_MISMATCH,
)
from medshare_ingest.institutions import hash_api_key
from medshare_shared.ids import record_id_for
from tests.integration.ingest.conftest import (
    INSTITUTION,
    RunningIngest,
    ingest_app,
    raw_keys,
    read_topic,
    settings_from,
    store_for,
)
from tests.integration.ingest.samples import (
    PATIENT_NAME,
    STOW_CONTENT_TYPE,
    case_report,
    failed_items,
    fhir_bundle,
    multipart,
    stored_items,
    value,
)

DICOM = {"Content-Type": "application/dicom"}


@pytest.fixture
async def ingest(pipeline_env: dict[str, str]) -> AsyncIterator[RunningIngest]:
    async with ingest_app(settings_from(pipeline_env)) as running:
        yield running


def topic(env: dict[str, str], name: str) -> str:
    return env["MEDSHARE_TOPIC_PREFIX"] + name


async def test_instance_stored_announced_once_and_duplicate_answered(
    ingest: RunningIngest, pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    data = fresh_dicom(PatientName="Quimby^Rosalind")
    first = await ingest.client.post("/instances", content=data, headers=DICOM)
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["status"] == "accepted" and answer["institution"] == INSTITUTION
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()

    again = await ingest.client.post("/instances", content=data, headers=DICOM)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["record_id"] == answer["record_id"]

    raw_key = f"records/{INSTITUTION}/{answer['record_id']}"
    assert raw_keys(pipeline_env) == [raw_key]
    store = store_for(pipeline_env)
    assert store.get_sync(pipeline_env["MEDSHARE_RAW_BUCKET"], raw_key) == data

    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"], topic(pipeline_env, "records.ingested"), 1
    )
    assert len(events) == 1
    payload = events[0]["payload"]
    assert payload["record_id"] == answer["record_id"]
    assert payload["institution"] == INSTITUTION
    assert payload["raw_key"] == raw_key and payload["kind"] == "dicom"
    assert events[0]["_key"] == answer["record_id"]
    assert "Quimby" not in json.dumps(events[0])


async def test_stow_several_instances_one_bad_one_not_dicom(
    ingest: RunningIngest, pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    good = [fresh_dicom() for _ in range(3)]
    truncated = fresh_dicom()[:-700]
    body = multipart(*good[:2], truncated, b"%PDF-1.4 not an image", good[2])
    answer = await ingest.client.post(
        "/studies", content=body, headers={"Content-Type": STOW_CONTENT_TYPE}
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"].startswith("application/dicom+json")
    stored, failed = stored_items(answer.json()), failed_items(answer.json())
    expected_uids = {str(pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID) for data in good}
    assert {value(item, "00081155") for item in stored} == expected_uids
    assert all(value(item, "00081190").startswith("urn:medshare:record:") for item in stored)
    assert [value(item, "00081197") for item in failed] == [FAILURE_CANNOT_UNDERSTAND] * 2
    reasons = [value(item, "00000902") for item in failed]
    assert "truncated" in reasons[0]
    assert "not a DICOM Part 10 file" in reasons[1]

    # The same request again: nothing new is stored or announced.
    again = await ingest.client.post(
        "/studies", content=body, headers={"Content-Type": STOW_CONTENT_TYPE}
    )
    assert again.status_code == 202
    comments = {value(item, "00000902") for item in stored_items(again.json())}
    assert comments == {"duplicate of an accepted submission"}
    assert len(raw_keys(pipeline_env)) == 3
    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"], topic(pipeline_env, "records.ingested"), 3
    )
    assert len(events) == 3


async def test_stow_into_a_study_refuses_instances_of_another(
    ingest: RunningIngest, pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    inside = fresh_dicom()
    study = str(pydicom.dcmread(io.BytesIO(inside)).StudyInstanceUID)
    outside = fresh_dicom()
    answer = await ingest.client.post(
        f"/studies/{study}",
        content=multipart(inside, outside),
        headers={"Content-Type": STOW_CONTENT_TYPE},
    )
    assert answer.status_code == 202
    failed = failed_items(answer.json())
    assert [value(item, "00081197") for item in failed] == [FAILURE_DATA_SET_MISMATCH]
    assert len(stored_items(answer.json())) == 1
    assert len(raw_keys(pipeline_env)) == 1


async def test_fhir_bundle_is_a_case_report(
    ingest: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    body = json.dumps(fhir_bundle()).encode()
    answer = await ingest.client.post(
        "/case-reports", content=body, headers={"Content-Type": "application/fhir+json"}
    )
    assert answer.status_code == 202, answer.text
    record_id = answer.json()["record_id"]
    store = store_for(pipeline_env)
    key = f"records/{INSTITUTION}/{record_id}"
    stat = store.client.stat_object(pipeline_env["MEDSHARE_RAW_BUCKET"], key)
    assert stat.content_type == "application/fhir+json"
    assert store.get_sync(pipeline_env["MEDSHARE_RAW_BUCKET"], key) == body  # the original
    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"], topic(pipeline_env, "records.ingested"), 1
    )
    assert [e["payload"]["content_type"] for e in events] == ["application/fhir+json"]
    assert events[0]["payload"]["kind"] == "case_report"


def _post_bundle(document: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    return (
        "/case-reports",
        json.dumps(document).encode(),
        {"Content-Type": "application/fhir+json"},
    )


async def test_fhir_bundle_errors_name_the_field(
    ingest: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    unknown = fhir_bundle()
    unknown["entry"].append({"resource": {"id": "m1"}})  # no resourceType: not a resource
    path, body, headers = _post_bundle(unknown)
    answer = await ingest.client.post(path, content=body, headers=headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "Bundle.entry[4].resource" in error and "resourceType is required" in error

    missing = fhir_bundle()
    del missing["entry"][1]["resource"]["status"]  # Encounter.status is required
    path, body, headers = _post_bundle(missing)
    answer = await ingest.client.post(path, content=body, headers=headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "Bundle.entry[1].resource(Encounter).status" in error
    for part in PATIENT_NAME:
        assert part not in error
    assert raw_keys(pipeline_env) == []


async def test_json_case_reports_and_their_refusals(
    ingest: RunningIngest, pipeline_env: dict[str, str]
) -> None:
    client = ingest.client
    answer = await client.post("/case-reports", json=case_report())
    assert answer.status_code == 202, answer.text

    incomplete = case_report()
    del incomplete["patient"]["patient_id"]
    answer = await client.post("/case-reports", json=incomplete)
    assert answer.status_code == 422
    assert "patient.patient_id" in answer.json()["error"]

    answer = await client.post(
        "/case-reports", content=b'{"report_id": ', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and "invalid JSON" in answer.json()["error"]

    answer = await client.post(
        "/case-reports", content=b"report", headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 415

    # A Bundle sent as plain JSON is still recognised (and stored as FHIR).
    answer = await client.post("/case-reports", json=fhir_bundle())
    assert answer.status_code == 202
    store = store_for(pipeline_env)
    key = f"records/{INSTITUTION}/{answer.json()['record_id']}"
    stat = store.client.stat_object(pipeline_env["MEDSHARE_RAW_BUCKET"], key)
    assert stat.content_type == "application/fhir+json"
    assert len(raw_keys(pipeline_env)) == 2


async def test_api_keys_hashed_at_rest_decide_the_institution(
    pipeline_env: dict[str, str], tmp_path: Path, fresh_dicom: Callable[..., bytes]
) -> None:
    key = "k-" + hashlib.sha256(tmp_path.name.encode()).hexdigest()
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({hash_api_key(key): "riverton-clinic"}))
    assert key not in keys_file.read_text()
    settings = settings_from(pipeline_env, ingest_api_keys_file=keys_file)
    async with ingest_app(settings) as running:
        client = running.client
        data = fresh_dicom()
        # The X-Institution header (development mode) no longer names anyone.
        answer = await client.post("/instances", content=data, headers=DICOM)
        assert answer.status_code == 401
        assert "API key" in answer.json()["error"]
        answer = await client.post(
            "/instances", content=data, headers={**DICOM, "X-API-Key": "wrong"}
        )
        assert answer.status_code == 403
        answer = await client.post(
            "/instances",
            content=data,
            headers={**DICOM, "Authorization": f"Bearer {key}", "X-Institution": "someone"},
        )
        assert answer.status_code == 202
        assert answer.json()["institution"] == "riverton-clinic"
    assert raw_keys(pipeline_env) == [f"records/riverton-clinic/{answer.json()['record_id']}"]


async def test_concurrent_copies_announce_once_when_the_first_finishes_in_between(
    ingest: RunningIngest, pipeline_env: dict[str, str], fresh_dicom: Callable[..., bytes]
) -> None:
    """Both copies check for the acceptance marker before either wrote it; the second
    copy's raw write ends only after the first was announced and marked. It must still
    be a duplicate, not a second announcement."""
    desk = ingest.app.state.desk
    data = fresh_dicom()
    record_id = record_id_for(INSTITUTION, hashlib.sha256(data).hexdigest())
    marker = f"accepted/{record_id}"
    bucket = pipeline_env["MEDSHARE_RAW_BUCKET"]
    real_put = desk.store.put
    calls = 0

    async def second_put_waits_for_the_marker(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            for _ in range(200):
                if await asyncio.to_thread(desk.store.exists_sync, bucket, marker):
                    break
                await asyncio.sleep(0.05)
        return await real_put(*args, **kwargs)

    desk.store.put = second_put_waits_for_the_marker
    try:
        answers = await asyncio.gather(
            *(ingest.client.post("/instances", content=data, headers=DICOM) for _ in range(2))
        )
    finally:
        desk.store.put = real_put
    assert calls == 2, "both copies passed the marker check before either was marked"
    assert sorted(answer.status_code for answer in answers) == [200, 202]
    assert {answer.json()["status"] for answer in answers} == {"accepted", "duplicate"}
    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"],
        topic(pipeline_env, "records.ingested"),
        expect=2,
        idle_s=2,
        max_s=10,
    )
    assert len(events) == 1
