"""One DICOM instance is one catalog record, whoever sends it and by whichever door.

Five institutions send the same file: by HTTP `/instances`, by STOW-RS (with
dicomweb-client, a client nobody here wrote), by C-STORE (dcmtk's storescu; the
SCP writes other bytes than the client sent), on Kafka (aiokafka) and by C-STORE
again. The catalog must list one instance with five provenances, and
dicomweb-client's single-instance retrieve must get exactly one.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
import requests
from aiokafka import AIOKafkaProducer
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file

from medshare_catalog.tokens import TokenIssuer
from medshare_infra.processes import free_port
from tests.integration.catalog.support import grant_role, settings_from
from tests.support.pipeline import running_services, wait_for

DEADLINE_S = 120
AES = {"PACS_C": "inst-dimse", "PACS_E": "inst-dimse-2"}
DOORS = {
    "inst-http": "http",
    "inst-stow": "stow",
    "inst-dimse": "dimse",
    "inst-kafka": "kafka",
    "inst-dimse-2": "dimse",
}


def source_file(folder: Path) -> Path:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    dataset = pydicom.dcmread(path)
    dataset.PatientName = "Quillfeather^Ottoline"
    dataset.PatientID = "MRN-5550199"
    target = folder / "instance.dcm"
    dataset.save_as(target, enforce_file_format=True)
    return target


def storescu(calling_ae: str, port: int, path: Path) -> None:
    done = subprocess.run(
        ["storescu", "-aet", calling_ae, "-aec", "MEDSHARE", "-nh",
         "127.0.0.1", str(port), str(path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TCP_NODELAY": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


async def produce(bootstrap: str, topic: str, data: bytes, institution: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        headers = [
            ("medshare-institution", institution.encode()),
            ("medshare-submission-id", b"one-instance-kafka"),
            ("content-type", b"application/dicom"),
        ]
        await producer.send_and_wait(topic, data, headers=headers)
    finally:
        await producer.stop()


def client(base_url: str, headers: dict[str, str]) -> DICOMwebClient:
    session = requests.Session()
    session.headers.update(headers)
    return DICOMwebClient(url=base_url, session=session)


@pytest.mark.timeout(600)
def test_five_institutions_every_door_one_record(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    path = source_file(tmp_path)
    data = path.read_bytes()
    key_file = tmp_path / "catalog-jwt.key"
    key_file.write_text(secrets.token_hex(32))
    token = TokenIssuer(key_file.read_bytes()).issue("e2e", "admin")
    dimse_port = free_port()
    env = {
        **pipeline_env,
        "MEDSHARE_CATALOG_JWT_SECRET_FILE": str(key_file),
        "MEDSHARE_DIMSE_PORT": str(dimse_port),
        "MEDSHARE_DIMSE_ALLOWED_AES": json.dumps(AES),
    }
    grant_role(settings_from(env), "e2e", "admin")  # roles are looked up per request
    with running_services(env, tmp_path / "logs") as services:
        ingest, catalog = services["ingest"].url, services["catalog"].url
        sent = httpx.post(
            f"{ingest}/instances",
            content=data,
            headers={"X-Institution": "inst-http", "Content-Type": "application/dicom"},
            timeout=30,
        )
        assert sent.status_code == 202, sent.text
        client(ingest, {"X-Institution": "inst-stow"}).store_instances(
            [pydicom.dcmread(io.BytesIO(data))]
        )
        storescu("PACS_C", dimse_port, path)
        asyncio.run(
            produce(
                pipeline_env["MEDSHARE_KAFKA_BOOTSTRAP"],
                pipeline_env["MEDSHARE_TOPIC_PREFIX"] + "records.submitted",
                data,
                "inst-kafka",
            )
        )
        storescu("PACS_E", dimse_port, path)

        auth = {"Authorization": f"Bearer {token}"}

        def settled() -> list[dict[str, Any]] | None:
            found = httpx.get(f"{catalog}/dicomweb/instances", headers=auth, timeout=10)
            if found.status_code != 200 or not found.content:
                return None
            listed: list[dict[str, Any]] = found.json()
            if len(listed) != 1:
                return None
            sop = listed[0]["00080018"]["Value"][0]
            records = httpx.get(f"{catalog}/records", headers=auth, timeout=10).json()["items"]
            ours = [r for r in records if (r.get("dicom") or {}).get("sop_uid") == sop]
            if len(ours) == 1 and len(ours[0].get("provenances") or []) == 5:
                return listed
            return None

        listed = wait_for(settled, DEADLINE_S, "one instance with five provenances")
        study = listed[0]["0020000D"]["Value"][0]
        series = listed[0]["0020000E"]["Value"][0]
        sop = listed[0]["00080018"]["Value"][0]

        records = httpx.get(f"{catalog}/records", headers=auth, timeout=10).json()["items"]
        record = next(r for r in records if (r.get("dicom") or {}).get("sop_uid") == sop)
        provenances = record["provenances"]
        assert {p["institution"]: p["door"] for p in provenances} == DOORS
        assert not any(p["conflict"] for p in provenances)  # same pixels through every door
        assert len({p["record_id"] for p in provenances}) == 5
        assert record["release"]["state"] == "released"

        web = client(f"{catalog}/dicomweb", auth)
        assert len(web.search_for_instances(study_instance_uid=study)) == 1
        retrieved = web.retrieve_instance(study, series, sop)
        assert retrieved.SOPInstanceUID == sop
        assert "Quillfeather" not in str(retrieved.PatientName)
        assert len(web.retrieve_series(study, series)) == 1
