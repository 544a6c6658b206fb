"""Derived fields: search fields from either record kind, release state, lineage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from medshare_catalog.store.derive import derive, record_lineage, release_state, tokens
from medshare_catalog.store.record import model_key

T0 = datetime(2024, 3, 1, tzinfo=UTC)
GATES = ("burned-in-text",)


def image(**extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": "r1",
        "cataloged": True,
        "kind": "dicom",
        "institution": "north",
        "ingested_at": T0,
        "deid": {"at": T0 + timedelta(seconds=1), "event_id": "e1"},
        "metadata": {
            "modality": "ct",
            "body_part": "chest",
            "study_year": 2021,
            "sex": "F",
            "age_band": "60-69",
            "manufacturer": "SIEMENS",
            "model": "SOMATOM",
            "study_description": "CT Chest with contrast",
        },
        "deidentification": {"profile": "basic", "options": ["x"], "verifier": "passed"},
        "object": {"sha256": "ab" * 32},
    }
    document.update(extra)
    return document


def verdict(has_text: bool, at: datetime, version: str = "1.0.0") -> dict[str, Any]:
    return {
        model_key("burned-in-text", version): {
            "model_name": "burned-in-text",
            "model_version": version,
            "outputs": {"has_text": has_text, "probability": 0.9 if has_text else 0.1},
            "at": at,
        }
    }


def review(decision: str, at: datetime) -> dict[str, Any]:
    return {"at": at, "by": "sam", "decision": decision, "reason": "looked at it"}


def test_image_search_fields_are_normalised() -> None:
    derived = derive(image(), GATES)
    assert derived["modality"] == "CT" and derived["body_part"] == "CHEST"
    assert derived["study_year"] == 2021 and derived["sex"] == "F"
    assert derived["device"] == "SIEMENS SOMATOM"
    assert {"ct", "chest", "contrast", "dicom"} <= set(derived["text_tokens"])
    assert derived["diagnosis_codes"] == []


def test_case_report_fields_tolerate_missing_keys() -> None:
    report = {
        "cataloged": True,
        "kind": "case_report",
        "metadata": {
            "sex": "female",
            "encounter_year": 2019,
            "diagnosis_codes": ["c50.9", "C50.9", {"code": "E11.9"}],
            "description": "Case report 2019 | C50.9 Malignant neoplasm of breast",
        },
    }
    derived = derive(report, GATES)
    assert derived["study_year"] == 2019
    assert derived["sex"] == "F"
    assert derived["diagnosis_codes"] == ["C50.9", "E11.9"]
    assert derived["age_band"] is None and derived["zip3"] is None and derived["modality"] is None
    assert "c50.9" in derived["text_tokens"] and "malignant" in derived["text_tokens"]
    bare = derive({"cataloged": True, "kind": "case_report", "metadata": {}}, GATES)
    assert bare["study_year"] is None and bare["text_tokens"] == ["case", "report"]


def test_tokens_keep_codes_whole_and_are_unique() -> None:
    assert tokens(["CT  Chest", "C50.9 / c50.9", ["x-ray"]]) == ["c50.9", "chest", "ct", "x-ray"]


def test_released_without_any_gate_verdict_unless_required() -> None:
    assert derive(image(), GATES)["release"] == {"state": "released", "reason": None}
    pending = derive(image(), GATES, require_verdict=True)["release"]
    assert pending["state"] == "withheld" and "burned-in-text" in pending["reason"]


def test_latest_detector_verdict_decides() -> None:
    flagged = image(models=verdict(True, T0 + timedelta(minutes=1)))
    release = derive(flagged, GATES)["release"]
    assert release["state"] == "withheld"
    assert "burned-in text flagged by burned-in-text 1.0.0" in release["reason"]
    newer_clean = {
        **verdict(True, T0 + timedelta(minutes=1)),
        **verdict(False, T0 + timedelta(minutes=2), "2.0.0"),
    }
    assert derive(image(models=newer_clean), GATES)["release"]["state"] == "released"
    newer_flag = {
        **verdict(False, T0 + timedelta(minutes=1)),
        **verdict(True, T0 + timedelta(minutes=2), "2.0.0"),
    }
    assert derive(image(models=newer_flag), GATES)["release"]["state"] == "withheld"


def test_gates_are_configurable() -> None:
    flagged = image(models=verdict(True, T0 + timedelta(minutes=1)))
    assert derive(flagged, ("another-detector",))["release"]["state"] == "released"


def test_steward_release_stands_until_something_newer_flags() -> None:
    flag_at = T0 + timedelta(minutes=1)
    document = image(
        models=verdict(True, flag_at), reviews=[review("release", flag_at + timedelta(minutes=5))]
    )
    release = derive(document, GATES)["release"]
    assert release["state"] == "released" and "released by steward sam" in release["reason"]
    later_flag = {
        **verdict(True, flag_at),
        **verdict(True, flag_at + timedelta(minutes=10), "2.0.0"),
    }
    document["models"] = later_flag
    assert derive(document, GATES)["release"]["state"] == "withheld"


def test_rejection_is_sticky_and_quarantine_withholds() -> None:
    rejected = image(reviews=[review("reject", T0 + timedelta(minutes=3))])
    assert derive(rejected, GATES)["release"]["state"] == "rejected"
    quarantined = image(
        quarantine={"reason": "verifier", "stage": "anonymizer", "at": T0 + timedelta(minutes=2)}
    )
    assert derive(quarantined, GATES)["release"]["reason"] == "quarantined: verifier"
    only_quarantine = {"kind": "dicom", "quarantine": {"reason": "bad", "at": T0}}
    assert release_state(only_quarantine, [], GATES, False)["state"] == "withheld"
    failed = image(deidentification={"verifier": "failed"})
    assert derive(failed, GATES)["release"]["state"] == "withheld"


def test_lineage_is_chronological_and_complete() -> None:
    document = image(
        models=verdict(True, T0 + timedelta(minutes=1)),
        reviews=[review("release", T0 + timedelta(minutes=2))],
    )
    steps = record_lineage({**document, **derive(document, GATES)})
    assert "lineage" not in derive(document, GATES)  # computed on read, never stored
    assert [step["step"] for step in steps] == ["ingested", "de-identified", "model", "reviewed"]
    assert steps[1]["profile"] == "basic" and steps[1]["verifier"] == "passed"
    assert steps[2]["model_version"] == "1.0.0"
    assert steps[3]["reason"] == "looked at it"


def test_derivation_is_deterministic() -> None:
    models = {**verdict(False, T0), **verdict(True, T0, "0.9.0")}
    assert derive(image(models=models), GATES) == derive(
        image(models=dict(reversed(models.items()))), GATES
    )
