"""End to end over real Kafka, SeaweedFS and the MongoDB-wire server.

A DICOM file with a known patient name goes in through HTTP ingest; the catalog
must show its record within a deadline, the shared-zone copy must carry no trace
of the name, and the raw-zone original must be byte-for-byte what was sent.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medshare_catalog.tokens import TokenIssuer
from medshare_shared.object_store import ObjectStore
from tests.integration.catalog.support import grant_role, settings_from
from tests.support.pipeline import running_services, wait_for

DEADLINE_S = 60


def catalog_record(catalog_url: str, record_id: str, token: str) -> dict[str, Any] | None:
    response = httpx.get(f"{catalog_url}/records/{record_id}", headers=bearer(token), timeout=5)
    return response.json() if response.status_code == 200 else None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def store_for(env: dict[str, str]) -> ObjectStore:
    return ObjectStore(
        env["MEDSHARE_S3_ENDPOINT"], env["MEDSHARE_S3_ACCESS_KEY"], env["MEDSHARE_S3_SECRET_KEY"]
    )


@pytest.fixture
def trained_models(pipeline_env: dict[str, str]) -> None:
    """Train and promote the case-report model into this pipeline's model bucket."""
    subprocess.run(
        [sys.executable, "-m", "medshare_shared", "models", "train", "breast-cancer-malignancy"],
        env={**os.environ, **pipeline_env},
        check=True,
        capture_output=True,
        timeout=300,
    )


def sample_case_report() -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer

    from medshare_shared.case_report import CYTOLOGY_FEATURES

    data = load_breast_cancer()
    return {
        "report_id": "CR-0001",
        "patient": {
            "patient_id": "MRN-4471923",
            "name": "Rosalind Quimby",
            "birth_date": "1961-07-14",
            "sex": "F",
            "address": {
                "line": ["12 Larkspur Lane"],
                "city": "Springfield",
                "postal_code": "62704",
            },
            "phone": "217-555-0142",
        },
        "encounter_date": "2024-03-05",
        "facility": "Springfield General Hospital",
        "physician": "Dr. Amos Whitcombe",
        "diagnoses": [{"code": "C50.9", "display": "Malignant neoplasm of breast"}],
        "cytology": dict(zip(CYTOLOGY_FEATURES, map(float, data.data[0]), strict=True)),
        "notes": "Rosalind Quimby seen on 03/05/2024 by Dr. Whitcombe; call 217-555-0142.",
    }


def test_dicom_and_case_report_flow_to_catalog(
    pipeline_env: dict[str, str], trained_models: None, tmp_path: Path
) -> None:
    source_path = get_testdata_file("CT_small.dcm")
    assert source_path is not None
    source = Path(source_path).read_bytes()
    patient_name = str(pydicom.dcmread(io.BytesIO(source)).PatientName)
    assert patient_name  # the fixture carries a real (fictional) name

    key_file = tmp_path / "catalog-jwt.key"
    key_file.write_text(secrets.token_hex(32))
    token = TokenIssuer(key_file.read_bytes()).issue("e2e", "admin")
    env = {**pipeline_env, "MEDSHARE_CATALOG_JWT_SECRET_FILE": str(key_file)}
    grant_role(settings_from(env), "e2e", "admin")  # roles are looked up per request
    with running_services(env, tmp_path / "logs") as services:
        ingest, catalog = services["ingest"].url, services["catalog"].url
        headers = {"X-Institution": "springfield-general"}
        answer = httpx.post(
            f"{ingest}/instances",
            content=source,
            headers={**headers, "Content-Type": "application/dicom"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        dicom_id = answer.json()["record_id"]

        report = sample_case_report()
        answer = httpx.post(f"{ingest}/case-reports", json=report, headers=headers, timeout=30)
        assert answer.status_code == 202, answer.text
        case_id = answer.json()["record_id"]

        record = wait_for(
            lambda: catalog_record(catalog, dicom_id, token),
            DEADLINE_S,
            "DICOM record in the catalog",
        )
        assert record["kind"] == "dicom"
        assert record["institution"] == "springfield-general"
        assert record["release"]["state"] == "released"

        store = store_for(pipeline_env)
        shared = store.get_sync(record["object"]["bucket"], record["object"]["key"])
        assert hashlib.sha256(shared).hexdigest() == record["object"]["sha256"]
        deidentified = pydicom.dcmread(io.BytesIO(shared))
        assert str(deidentified.PatientName) != patient_name
        for part in patient_name.replace("^", " ").split():
            assert part.encode() not in shared, "patient name component leaked"
        assert deidentified.PatientIdentityRemoved == "YES"

        raw = store.get_sync(
            pipeline_env["MEDSHARE_RAW_BUCKET"], f"records/springfield-general/{dicom_id}"
        )
        assert raw == source

        def case_with_model() -> dict[str, Any] | None:
            found = catalog_record(catalog, case_id, token)
            return found if found and found.get("models") else None

        case = wait_for(case_with_model, DEADLINE_S, "case report with a model result")
        result = next(iter(case["models"].values()))
        assert result["model_name"] == "breast-cancer-malignancy"
        assert 0.0 <= result["outputs"]["malignancy_probability"] <= 1.0
        # Row 0 of the Wisconsin set is a malignant case.
        assert result["outputs"]["malignancy_probability"] > 0.5
        dumped = json.dumps(case)
        for value in ("Rosalind", "Quimby", "MRN-4471923", "217-555-0142", "Larkspur"):
            assert value not in dumped

        listing = httpx.get(f"{catalog}/records", headers=bearer(token), timeout=5).json()
        assert listing["total"] == 2
        assert {item["record_id"] for item in listing["items"]} == {dicom_id, case_id}

        # The same bytes again: one record, answered as a duplicate.
        again = httpx.post(
            f"{ingest}/instances",
            content=source,
            headers={**headers, "Content-Type": "application/dicom"},
            timeout=30,
        )
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert again.json()["record_id"] == dicom_id
