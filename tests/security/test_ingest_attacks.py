"""Issue 13's ingest attacks replayed against the real doors (real Kafka and S3).

A deflate bomb (261 KB inflating to 256 MiB) at every door and at the anonymizer,
sequences nested past the parser's stack, JSON nested 200,000 levels, the API key
checked before the content, development mode and unbound AE titles made visible,
and C-STORE callers bound to their addresses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import tracemalloc
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_infra.processes import free_port
from medshare_ingest.doors.dimse.scp import REFUSED_NOT_AUTHORIZED, SUCCESS
from medshare_ingest.institutions import hash_api_key
from medshare_ingest.validation import InvalidSubmission, validate_dicom
from tests.integration.ingest.conftest import (
    INSTITUTION,
    ingest_app,
    raw_keys,
    read_topic,
    settings_from,
)
from tests.integration.ingest.samples import STOW_CONTENT_TYPE, c_store, multipart
from tests.security.shapes import deflate_bomb, nested_json, nested_sequences

DICOM = {"Content-Type": "application/dicom"}
MIB = 1024 * 1024
PACS_AE = "SECURITY_PACS"


def test_the_bomb_is_the_issues_shape() -> None:
    bomb = deflate_bomb()
    assert 200_000 < len(bomb) < 300_000  # about 261 KB on the wire


async def test_deflate_bomb_at_instances_is_413_with_a_reason_and_memory_stays_small(
    pipeline_env: dict[str, str],
) -> None:
    bomb = deflate_bomb()
    async with ingest_app(settings_from(pipeline_env)) as ingest:
        tracemalloc.start()
        try:
            answer = await ingest.client.post("/instances", content=bomb, headers=DICOM)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert answer.status_code == 413
    assert "deflate bomb" in answer.json()["error"]
    assert "MEDSHARE_DICOM_MAX_INFLATED_BYTES" in answer.json()["error"]
    # Inflation runs in 1 MiB steps whose output is dropped: nowhere near 256 MiB.
    assert peak < 24 * MIB, f"peak {peak / MIB:.0f} MiB while refusing the bomb"
    assert raw_keys(pipeline_env) == []


async def test_deflate_bombs_through_stow_are_refused_and_the_event_loop_keeps_serving(
    pipeline_env: dict[str, str],
) -> None:
    bombs = [deflate_bomb(), deflate_bomb(200 * MIB), deflate_bomb(300 * MIB)]
    body = multipart(*bombs)
    async with ingest_app(settings_from(pipeline_env)) as ingest:
        client = ingest.client
        stow = asyncio.ensure_future(
            client.post("/studies", content=body, headers={"Content-Type": STOW_CONTENT_TYPE})
        )
        slowest = 0.0
        while not stow.done():
            started = time.monotonic()
            assert (await client.get("/healthz")).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.02)
        answer = await stow
    assert answer.status_code == 409  # every instance failed, each with its reason
    failed = answer.json()["00081198"]["Value"]
    reasons = [item["00000902"]["Value"][0] for item in failed]
    assert len(failed) == 3
    assert all("deflate bomb" in reason for reason in reasons), reasons
    # Parsing runs in worker threads: the loop answered /healthz throughout.
    assert slowest < 1.0, f"/healthz waited {slowest:.2f} s during the STOW request"


async def test_deflate_bomb_on_the_kafka_door_is_rejected_with_its_reason(
    pipeline_env: dict[str, str],
) -> None:
    bootstrap = pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"]
    prefix = pipeline_env["MEDSHARE_TOPIC_PREFIX"]
    async with ingest_app(settings_from(pipeline_env)):
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                prefix + "records.submitted",
                deflate_bomb(),
                headers=[
                    ("medshare-institution", INSTITUTION.encode()),
                    ("medshare-submission-id", b"bomb-1"),
                    ("content-type", b"application/dicom"),
                ],
            )
        finally:
            await producer.stop()
        rejected = await read_topic(bootstrap, prefix + "records.rejected", expect=1)
    assert [event["payload"]["submission_id"] for event in rejected] == ["bomb-1"]
    assert "deflate bomb" in rejected[0]["payload"]["reason"]
    assert raw_keys(pipeline_env) == []


def test_deflate_bomb_never_reaches_the_anonymizers_parser() -> None:
    deidentifier = Deidentifier(keys=PseudonymKeys(b"s" * 32), dicom_options=frozenset())
    tracemalloc.start()
    try:
        outcome = deidentifier.run("dicom", "application/dicom", deflate_bomb(), "north")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status == "rejected"
    assert outcome.reason is not None and "deflate bomb" in outcome.reason
    assert peak < 24 * MIB


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_sequences_nested_past_the_bound_are_refused_and_shallow_ones_pass(syntax: str) -> None:
    validate_dicom(nested_sequences(8, syntax))
    with pytest.raises(InvalidSubmission, match="nested deeper than 32") as refused:
        validate_dicom(nested_sequences(5_000, syntax))
    assert refused.value.http_status == 422
    deidentifier = Deidentifier(keys=PseudonymKeys(b"s" * 32), dicom_options=frozenset())
    outcome = deidentifier.run("dicom", "application/dicom", nested_sequences(5_000), "north")
    assert outcome.status == "rejected" and "nested deeper" in (outcome.reason or "")


async def test_nested_json_and_nested_sequences_answer_422_with_a_reason(
    pipeline_env: dict[str, str],
) -> None:
    async with ingest_app(settings_from(pipeline_env)) as ingest:
        client = ingest.client
        for media_type in ("application/json", "application/fhir+json"):
            answer = await client.post(
                "/case-reports", content=nested_json(), headers={"Content-Type": media_type}
            )
            assert answer.status_code == 422, answer.text
            assert "nested deeper than 64 levels" in answer.json()["error"]
        answer = await client.post("/instances", content=nested_sequences(5_000), headers=DICOM)
        assert answer.status_code == 422
        assert "MEDSHARE_DICOM_MAX_DEPTH" in answer.json()["error"]
    deidentifier = Deidentifier(keys=PseudonymKeys(b"s" * 32), dicom_options=frozenset())
    outcome = deidentifier.run("case_report", "application/json", nested_json(), "north")
    assert outcome.status == "rejected"
    assert raw_keys(pipeline_env) == []


async def test_api_key_is_checked_before_the_content_and_development_mode_is_visible(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    async with ingest_app(settings_from(pipeline_env)) as ingest:
        ready = (await ingest.client.get("/readyz")).json()
        assert any("development mode" in warning for warning in ready["warnings"])
    key = "k-" + hashlib.sha256(tmp_path.name.encode()).hexdigest()
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({hash_api_key(key): "riverton-clinic"}))
    async with ingest_app(settings_from(pipeline_env, ingest_api_keys_file=keys_file)) as ingest:
        client = ingest.client
        assert "warnings" not in (await client.get("/readyz")).json()
        for path, media_type in (("/instances", "text/plain"), ("/case-reports", "image/png")):
            anonymous = await client.post(path, content=b"x", headers={"Content-Type": media_type})
            assert anonymous.status_code == 401, (path, anonymous.text)
            wrong = await client.post(
                path, content=b"x", headers={"Content-Type": media_type, "X-API-Key": "nope"}
            )
            assert wrong.status_code == 403
            known = await client.post(
                path, content=b"x", headers={"Content-Type": media_type, "X-API-Key": key}
            )
            assert known.status_code == 415  # only a known caller learns what is accepted


@pytest.mark.parametrize(
    ("peers", "expected"),
    [({PACS_AE: ["10.99.0.0/16"]}, REFUSED_NOT_AUTHORIZED), ({PACS_AE: ["127.0.0.1"]}, SUCCESS)],
)
async def test_c_store_ae_titles_are_bound_to_their_peer_addresses(
    pipeline_env: dict[str, str],
    peers: dict[str, list[str]],
    expected: int,
) -> None:
    from pydicom.data import get_testdata_file

    from medshare_ingest.sample_data import renewed

    sample = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    port = free_port()
    settings = settings_from(
        pipeline_env,
        dimse_port=port,
        dimse_allowed_aes={PACS_AE: INSTITUTION},
        dimse_allowed_peers=peers,
    )
    async with ingest_app(settings) as ingest:
        warnings = (await ingest.client.get("/readyz")).json().get("warnings", [])
        assert not any("AE titles" in warning for warning in warnings)
        status = await asyncio.to_thread(c_store, port, renewed(sample), PACS_AE)
    assert status == expected
    assert len(raw_keys(pipeline_env)) == (1 if expected == SUCCESS else 0)


async def test_unbound_ae_titles_are_named_in_readyz(pipeline_env: dict[str, str]) -> None:
    settings = settings_from(
        pipeline_env, dimse_port=free_port(), dimse_allowed_aes={PACS_AE: INSTITUTION}
    )
    async with ingest_app(settings) as ingest:
        warnings = (await ingest.client.get("/readyz")).json()["warnings"]
    assert any(PACS_AE in warning and "peer addresses" in warning for warning in warnings)
