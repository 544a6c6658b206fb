"""Ingest as a real process: a PACS pushing with dcmtk's storescu, producers on Kafka,
and a log that names hashes and reasons but never a patient."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest
from aiokafka import AIOKafkaProducer

from medshare_infra.processes import free_port
from medshare_infra.services import ServiceProcess
from medshare_shared.events import RecordSubmitted, envelope
from tests.integration.ingest.conftest import raw_keys, read_topic
from tests.integration.ingest.samples import MRN, PATIENT_NAME, PHONE, case_report

PACS_AE = "PACS_A"
PACS_INSTITUTION = "st-elsewhere"
# A name no sample file carries, put into every instance this test sends.
DICOM_PATIENT = ("Featherstonehaugh", "Zebulon")


@pytest.fixture
def ingest_process(pipeline_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        **pipeline_env,
        "MEDSHARE_CONSUMER_GROUP": "ingest-" + pipeline_env["MEDSHARE_TOPIC_PREFIX"].strip("."),
        "MEDSHARE_DIMSE_PORT": str(free_port()),
        "MEDSHARE_DIMSE_ALLOWED_AES": json.dumps({PACS_AE: PACS_INSTITUTION}),
        "MEDSHARE_LOG_LEVEL": "DEBUG",  # the most the service ever says
    }
    service = ServiceProcess("ingest", free_port(), env, tmp_path / "ingest.log")
    service.start()
    try:
        service.wait_ready(60)
        yield service
    finally:
        service.stop()


def storescu(calling_ae: str, port: int, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["storescu", "-aet", calling_ae, "-aec", "MEDSHARE", "-R", "+sd", "+r", "-nh",
         "127.0.0.1", str(port), str(folder)],
        capture_output=True, text=True, timeout=120,
        # dcmtk leaves Nagle on unless told: each C-STORE would wait out a delayed ACK.
        env={**os.environ, "TCP_NODELAY": "1"},
    )  # fmt: skip


async def test_storescu_pushes_a_folder_allowed_ae_only(
    ingest_process: ServiceProcess,
    pipeline_env: dict[str, str],
    fresh_dicom: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "study"
    (folder / "series").mkdir(parents=True)
    name = "^".join(DICOM_PATIENT)
    files = [fresh_dicom(uncompressed=True, PatientName=name) for _ in range(12)]
    for index, data in enumerate(files):
        target = folder / ("series" if index % 2 else "") / f"IM{index:04d}"
        target.write_bytes(data)
    port = int(ingest_process.env["MEDSHARE_DIMSE_PORT"])

    refused = await asyncio.to_thread(storescu, "INTRUDER", port, folder)
    assert refused.returncode != 0
    assert "Association Rejected" in refused.stderr + refused.stdout
    assert raw_keys(pipeline_env) == []

    sent = await asyncio.to_thread(storescu, PACS_AE, port, folder)
    assert sent.returncode == 0, sent.stderr
    keys = raw_keys(pipeline_env)
    assert len(keys) == len(files)
    assert all(key.startswith(f"records/{PACS_INSTITUTION}/") for key in keys)

    events = await read_topic(
        pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"],
        pipeline_env["MEDSHARE_TOPIC_PREFIX"] + "records.ingested",
        expect=len(files),
    )
    assert len(events) == len(files)
    assert {event["payload"]["institution"] for event in events} == {PACS_INSTITUTION}

    again = await asyncio.to_thread(
        storescu, PACS_AE, port, folder
    )  # a PACS resending: success, no new records
    assert again.returncode == 0
    assert len(raw_keys(pipeline_env)) == len(files)
    uids = [str(pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID) for data in files]
    assert_log_free_of_phi(ingest_process, [*DICOM_PATIENT, *uids])


async def produce(
    bootstrap: str, topic: str, messages: list[tuple[bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(topic, value, headers=headers)
    finally:
        await producer.stop()


def raw_form(
    data: bytes, submission_id: str, content_type: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    return data, [
        ("medshare-institution", b"riverton-clinic"),
        ("medshare-submission-id", submission_id.encode()),
        ("content-type", content_type.encode()),
    ]


async def test_kafka_door_accepts_both_forms_and_rejects_with_reasons(
    ingest_process: ServiceProcess,
    pipeline_env: dict[str, str],
    fresh_dicom: Callable[..., bytes],
) -> None:
    bootstrap = pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"]
    prefix = pipeline_env["MEDSHARE_TOPIC_PREFIX"]
    report = json.dumps(case_report()).encode()
    dicom = fresh_dicom(PatientName="^".join(DICOM_PATIENT))
    enveloped = envelope(
        RecordSubmitted(
            institution="riverton-clinic",
            submission_id="env-1",
            kind="case_report",
            content_type="application/json",
            data_base64=base64.b64encode(report).decode(),
        ),
        event_type="records.submitted",
        producer="test-producer",
    )
    await produce(
        bootstrap,
        prefix + "records.submitted",
        [
            (enveloped.model_dump_json().encode(), []),
            raw_form(dicom, "raw-1", "application/dicom"),
            raw_form(dicom[: len(dicom) // 2], "raw-cut", "application/dicom"),
            (b"\x00\x01 neither form", []),
            raw_form(dicom, "raw-1-again", "application/dicom"),  # same bytes: a duplicate
            raw_form(b'{"resourceType": "Bundle"}', "fhir-bad", "application/fhir+json"),
        ],
    )
    ingested = await read_topic(bootstrap, prefix + "records.ingested", expect=2, idle_s=3)
    # The same bytes twice are one record: whichever of the two was consumed first.
    ids = sorted(event["payload"]["submission_id"] for event in ingested)
    assert ids in (["env-1", "raw-1"], ["env-1", "raw-1-again"])
    assert {event["payload"]["institution"] for event in ingested} == {"riverton-clinic"}

    rejected = await read_topic(bootstrap, prefix + "records.rejected", expect=3, idle_s=2)
    reasons = {event["payload"]["submission_id"]: event["payload"]["reason"] for event in rejected}
    assert set(reasons) == {"raw-cut", None, "fhir-bad"}
    assert "truncated" in reasons["raw-cut"]
    assert "not a records.submitted envelope" in reasons[None]
    assert "Bundle.type" in reasons["fhir-bad"]
    assert all(event["payload"]["stage"] == "ingest" for event in rejected)
    assert all(event["payload"]["source_offset"] is not None for event in rejected)
    assert len(raw_keys(pipeline_env)) == 2
    assert_log_free_of_phi(ingest_process, [*DICOM_PATIENT, *PATIENT_NAME, MRN, PHONE])


def assert_log_free_of_phi(service: ServiceProcess, needles: list[str]) -> None:
    log = service.log_path.read_text(errors="replace")
    assert '"msg": "accepted"' in log  # the service did log its work
    for needle in needles:
        assert needle not in log, f"PHI in the ingest log: {needle}"
