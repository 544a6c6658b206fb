"""The hand-written realistic FHIR corpus (Practitioner, Procedure, Claim, DocumentReference
with base64 text) passes the ingest door's checks and is de-identified, not quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_ingest.validation import FHIR_JSON, check_case_report

CORPUS = Path(__file__).resolve().parents[2] / "corpora/case-reports/fhir-realistic/docs"
BUNDLES = sorted(CORPUS.glob("*.json"))


def test_the_corpus_is_there() -> None:
    assert len(BUNDLES) == 24


@pytest.mark.parametrize("path", BUNDLES, ids=lambda path: path.name)
def test_realistic_bundle_is_accepted_and_deidentified(path: Path) -> None:
    data = path.read_bytes()
    assert check_case_report(data, FHIR_JSON) == FHIR_JSON
    deidentifier = Deidentifier(keys=PseudonymKeys(b"k" * 32), dicom_options=frozenset())
    outcome = deidentifier.run("case_report", FHIR_JSON, data, "north")
    assert outcome.status == "ok", outcome.reason
    types = {entry["resource"]["resourceType"] for entry in json.loads(data)["entry"]}
    if "Claim" in types:
        assert outcome.metadata["fhir_skipped"]["Claim"] >= 1
