"""Vault-mode pseudonyms against the real MongoDB-wire server.

Random surrogates, stable per (institution, patient), no identifier stored in clear,
one surrogate under 50 concurrent get-or-create calls from several clients (as several
replicas would make them), and the same surrogate and date shift for an image and a
case report of one patient.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from medshare_anonymizer.case_report.deidentifier import deidentify_case_report
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.settings import AnonymizerSettings
from medshare_anonymizer.vault import PseudonymVault, VaultPseudonymKeys, pseudonym_keys
from medshare_shared.case_report import CaseReport
from tests.unit.anonymizer.conftest import parse, read_bytes, sample_path, to_bytes

SECRET = b"vault-test-secret-0123456789abcdef"
KEYS = PseudonymKeys(SECRET)


@pytest.fixture
def client(mongo_url: str, mongo_db_name: str) -> Iterator[MongoClient[dict[str, Any]]]:
    connection: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    yield connection
    connection.drop_database(mongo_db_name)
    connection.close()


@pytest.fixture
def vault(mongo_url: str, mongo_db_name: str, client: object) -> PseudonymVault:
    return PseudonymVault.connect(mongo_url, mongo_db_name, KEYS)


def test_surrogates_are_random_stable_and_per_patient(
    vault: PseudonymVault, mongo_url: str, mongo_db_name: str, client: MongoClient[dict[str, Any]]
) -> None:
    first = vault.get_or_create("hospital-a", "MRN-4471923")
    assert re.fullmatch(r"P-[0-9A-F]{16}", first)
    assert vault.get_or_create("hospital-a", " MRN-4471923 ") == first
    assert vault.get_or_create("hospital-b", "MRN-4471923") != first
    assert vault.get_or_create("hospital-a", "MRN-4471924") != first
    assert first != KEYS.patient_pseudonym("hospital-a", "MRN-4471923")  # not the keyed code
    # A fresh connection (another replica, a restart) reads the same surrogate back.
    again = PseudonymVault.connect(mongo_url, mongo_db_name, KEYS)
    assert again.get_or_create("hospital-a", "MRN-4471923") == first
    stored = list(client[mongo_db_name]["pseudonym_vault"].find())
    assert len(stored) == 3
    assert all("4471923" not in str(document) for document in stored)


def test_fifty_concurrent_get_or_create_make_one_surrogate(
    mongo_url: str, mongo_db_name: str, client: object
) -> None:
    # Five clients (as five replicas) with ten threads each race on one new patient.
    vaults = [PseudonymVault.connect(mongo_url, mongo_db_name, KEYS) for _ in range(5)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda i: vaults[i % 5].get_or_create("h", "P-RACE"), range(50)))
    assert len(set(results)) == 1
    assert vaults[0].collection.count_documents({}) == 1


def test_image_and_case_report_share_surrogate_and_shift(
    vault: PseudonymVault, mongo_url: str, mongo_db_name: str
) -> None:
    keys = VaultPseudonymKeys(SECRET, vault)
    ds = parse(read_bytes(sample_path("CT_small.dcm")))
    ds.PatientID = "MRN-555"
    ds.StudyDate = "20240305"
    image = deidentify_dicom(to_bytes(ds), keys, "h1", frozenset({"retain-long-modified-dates"}))
    assert image.status == "ok" and image.output is not None
    patient = {"patient_id": "MRN-555", "name": "Ada Byron"}
    report = CaseReport.model_validate(
        {
            "report_id": "R1",
            "patient": patient,
            "encounter_date": "2024-03-05",
            "notes": "Ada seen.",
        }
    )
    case = deidentify_case_report(report, keys, "h1", date_mode="shift")
    assert case.status == "ok" and case.output is not None
    assert image.patient_pseudonym == case.patient_pseudonym == vault.get_or_create("h1", "MRN-555")
    assert str(parse(image.output).StudyDate) == case.output["encounter_date"].replace("-", "")
    shift = (date.fromisoformat(case.output["encounter_date"]) - date(2024, 3, 5)).days
    assert shift == keys.date_shift_days(case.patient_pseudonym or "")


def test_setting_selects_the_mode(
    mongo_url: str, mongo_db_name: str, client: object, tmp_path: Path, clean_environ: None
) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_bytes(SECRET)
    common = {
        "anonymizer_secret_file": secret_file,
        "mongo_url": mongo_url,
        "mongo_db": mongo_db_name,
    }
    hmac_keys = pseudonym_keys(AnonymizerSettings(**common))  # type: ignore[arg-type]
    assert type(hmac_keys) is PseudonymKeys
    vault_keys = pseudonym_keys(AnonymizerSettings(**common, pseudonym_mode="vault"))  # type: ignore[arg-type]
    assert isinstance(vault_keys, VaultPseudonymKeys)
    surrogate = vault_keys.patient_pseudonym("h", "42")
    assert surrogate != hmac_keys.patient_pseudonym("h", "42")
    assert vault_keys.patient_pseudonym("h", "42") == surrogate
