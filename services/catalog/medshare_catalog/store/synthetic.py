"""Synthetic but realistic catalog records, for the benchmark and the tests.

Distributions follow what a regional imaging and pathology network would hold:
a few large institutions and many small ones, CT/MR/X-ray dominating the images,
decade age bands skewed old, ICD-10 codes from a realistic short list, model
results as the inference service publishes them (breast-cancer malignancy on
cytology case reports, diabetes progression on metabolic ones, the burned-in-text
detector on images, flagging a few percent). No value is drawn from a real
person; every identifier is a random hex string.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import cast

from medshare_catalog.store.record import (
    Document,
    deidentified_facts,
    inferred_facts,
    to_millis,
)
from medshare_catalog.store.records import folded
from medshare_shared.events import DeidReport, ModelResult, RecordDeidentified

INSTITUTIONS = [f"hospital-{n:02d}" for n in range(1, 13)]
INSTITUTION_WEIGHTS = [30, 18, 12, 9, 7, 6, 5, 4, 3, 3, 2, 1]
MODALITIES = {
    "CT": (28, ["CHEST", "ABDOMEN", "HEAD", "PELVIS"]),
    "MR": (20, ["BRAIN", "KNEE", "SPINE", "PROSTATE"]),
    "CR": (16, ["CHEST", "HAND", "FOOT"]),
    "DX": (14, ["CHEST", "KNEE", "SPINE"]),
    "MG": (10, ["BREAST"]),
    "US": (8, ["ABDOMEN", "THYROID", "BREAST"]),
    "PT": (3, ["WHOLEBODY"]),
    "NM": (1, ["BONE"]),
}
DEVICES = [
    ("GE MEDICAL SYSTEMS", "LightSpeed VCT"),
    ("SIEMENS", "SOMATOM Force"),
    ("SIEMENS", "MAGNETOM Skyra"),
    ("Philips", "Ingenia"),
    ("Canon", "Aquilion ONE"),
    ("Hologic", "Selenia Dimensions"),
    ("Agfa", "DX-D 300"),
]
AGE_BANDS = ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+"]
AGE_WEIGHTS = [2, 3, 5, 8, 12, 17, 20, 18, 11, 4]
DIAGNOSES = {
    "C50.9": "Malignant neoplasm of breast, unspecified",
    "D24.9": "Benign neoplasm of breast",
    "N60.1": "Diffuse cystic mastopathy",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "E11.65": "Type 2 diabetes mellitus with hyperglycemia",
    "I10": "Essential (primary) hypertension",
    "E66.9": "Obesity, unspecified",
    "J18.9": "Pneumonia, unspecified organism",
}
STUDY_WORDS = {
    "CHEST": "Chest",
    "ABDOMEN": "Abdomen with contrast",
    "HEAD": "Head without contrast",
    "PELVIS": "Pelvis",
    "BRAIN": "Brain",
    "KNEE": "Knee",
    "SPINE": "Lumbar spine",
    "PROSTATE": "Prostate multiparametric",
    "HAND": "Hand two views",
    "FOOT": "Foot",
    "BREAST": "Screening mammogram",
    "THYROID": "Thyroid",
    "WHOLEBODY": "Whole body FDG",
    "BONE": "Bone scan",
}
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _hex(rng: random.Random, n: int = 64) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _zip3(institution: str, rng: random.Random) -> str:
    base = int(hashlib.sha256(institution.encode()).hexdigest()[:4], 16) % 900 + 100
    return f"{base + rng.choice([0, 0, 0, 1, 2]):03d}"


def synthetic_event(index: int, rng: random.Random) -> tuple[RecordDeidentified, list[ModelResult]]:
    """One de-identified record and the model results the inference service would publish."""
    institution = rng.choices(INSTITUTIONS, INSTITUTION_WEIGHTS)[0]
    record_id = hashlib.sha256(f"synthetic-{index}-{rng.random()}".encode()).hexdigest()
    ingested = EPOCH + timedelta(seconds=index * 7 + rng.randint(0, 6))
    sex = rng.choice(["F", "M"])
    age_band = rng.choices(AGE_BANDS, AGE_WEIGHTS)[0]
    year = rng.randint(2008, 2024)
    results: list[ModelResult] = []
    if rng.random() < 0.6:
        modality = rng.choices(list(MODALITIES), [w for w, _ in MODALITIES.values()])[0]
        body_part = rng.choice(MODALITIES[modality][1])
        manufacturer, model = rng.choice(DEVICES)
        study_uid = f"2.25.{int(_hex(rng, 24), 16)}"
        metadata: Document = {
            "modality": modality,
            "body_part": body_part,
            "study_year": year,
            "sex": sex,
            "age_band": age_band,
            "manufacturer": manufacturer,
            "model": model,
            "study_instance_uid": study_uid,
            "series_instance_uid": f"{study_uid}.1",
            "sop_instance_uid": f"{study_uid}.1.1",
            "rows": 512,
            "columns": 512,
            "study_description": f"{modality} {STUDY_WORDS[body_part]}",
        }
        kind, content_type, key = (
            "dicom",
            "application/dicom",
            f"{institution}/dicom/{record_id}.dcm",
        )
        probability = rng.betavariate(1, 30) if rng.random() > 0.03 else rng.uniform(0.6, 1.0)
        results.append(
            ModelResult(
                model_name="burned-in-text",
                model_version="1.0.0",
                outputs={"has_text": probability >= 0.5, "probability": round(probability, 4)},
                confidence=round(max(probability, 1 - probability), 4),
            )
        )
    else:
        codes = rng.sample(list(DIAGNOSES), rng.choice([1, 1, 2]))
        breast = rng.random() < 0.55
        if breast:
            codes = [rng.choice(["C50.9", "D24.9", "N60.1"])]
        metadata = {
            "sex": "F" if breast else sex,
            "age_band": age_band,
            "zip3": _zip3(institution, rng),
            "encounter_year": year,
            "diagnosis_codes": codes,
            "feature_groups": ["cytology"] if breast else ["metabolic"],
            "description": f"Case report {year} | "
            + "; ".join(f"{c} {DIAGNOSES[c]}" for c in codes),
        }
        kind, content_type, key = (
            "case_report",
            "application/json",
            f"{institution}/case_report/{record_id}.json",
        )
        if breast:
            malignant = codes == ["C50.9"]
            p = rng.uniform(0.55, 0.99) if malignant else rng.uniform(0.01, 0.45)
            results.append(
                ModelResult(
                    model_name="breast-cancer-malignancy",
                    model_version=rng.choice(["1.0.0", "1.1.0"]),
                    outputs={
                        "malignancy_probability": round(p, 4),
                        "label": "malignant" if p >= 0.5 else "benign",
                    },
                    confidence=round(max(p, 1 - p), 4),
                )
            )
        else:
            results.append(
                ModelResult(
                    model_name="diabetes-progression",
                    model_version="1.0.0",
                    outputs={"progression_score": round(rng.uniform(25, 346), 1)},
                )
            )
    record = RecordDeidentified(
        record_id=record_id,
        institution=institution,
        kind=kind,
        patient_pseudonym=_hex(rng, 32),
        shared_bucket="medshare-shared",
        shared_key=key,
        sha256=_hex(rng),
        size=rng.randint(2_000, 600_000),
        content_type=content_type,
        ingested_at=ingested,
        metadata=metadata,
        report=DeidReport(
            # Synthetic case reports carry years only: Safe Harbor's date rule.
            profile="PS3.15 Annex E basic"
            if kind == "dicom"
            else "HIPAA Safe Harbor 45 CFR 164.514(b)(2)",
            options=["retain-long-modified-dates"] if kind == "dicom" else ["dates:year"],
            actions={"removed": rng.randint(5, 40), "replaced": rng.randint(2, 12)},
        ),
    )
    return record, results


def synthetic_document(
    record: RecordDeidentified, results: list[ModelResult], gates: tuple[str, ...]
) -> Document:
    """The catalog document the folds would produce from these events, for bulk loads.

    The facts come from the same builders the folds use (record.py); the image
    header is what the header reader would take from the file.
    """
    deidentified_at = record.ingested_at + timedelta(seconds=3)
    inferred_at = to_millis(deidentified_at) + timedelta(seconds=1)
    dicom: Document | None = None
    if record.kind == "dicom":
        meta = record.metadata
        dicom = {
            "study_uid": meta["study_instance_uid"],
            "series_uid": meta["series_instance_uid"],
            "sop_uid": meta["sop_instance_uid"],
            "modality": meta["modality"],
            "study_date": f"{meta['study_year']}0101",
            "attributes": {},
        }
    event_id = f"synthetic-{record.record_id[:16]}"
    updates = [deidentified_facts(record, event_id, deidentified_at, outside=False, dicom=dicom)]
    updates += [inferred_facts(r, f"synthetic-{r.model_name}", inferred_at) for r in results]
    return cast(Document, folded(record.record_id, updates, deidentified_at, gates))
