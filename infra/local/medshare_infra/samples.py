"""Sample data for the demo and the tests: real measurements, fictional patients.

DICOM files come from the `pydicom-data` package (real images, fictional PHI).
Case reports pair real rows of scikit-learn's breast-cancer set with invented
identities, so the anonymizer has real PHI-shaped values to remove.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

FIRST_NAMES = ("Rosalind", "Ezekiel", "Marisol", "Thaddeus", "Imogen", "Percival", "Yolanda")
LAST_NAMES = ("Quimby", "Fairweather", "Ostrowski", "Nakamura", "Delacroix", "Abernathy")
CITIES = (("Springfield", "62704"), ("Riverton", "82501"), ("Fairview", "07022"))


def sample_dicom_files(limit: int | None = None) -> list[Path]:
    """Real DICOM files shipped by pydicom and pydicom-data, smallest first.

    Globbed from the installed folders: pydicom's own `get_testdata_files` would try
    to download missing files, and this machine has no network for it.
    """
    import pydicom.data
    from pydicom.data.data_manager import external_data_sources

    roots = [Path(pydicom.data.__file__).parent / "test_files"]
    roots += [Path(source.data_path) for source in external_data_sources().values()]
    found = {path for root in roots for path in root.rglob("*.dcm") if path.is_file()}
    files = sorted(found, key=lambda path: (path.stat().st_size, path.name))
    return files[:limit] if limit else files


def sample_case_reports(count: int, seed: int = 7) -> list[dict[str, Any]]:
    from sklearn.datasets import load_breast_cancer

    from medshare_shared.case_report import CYTOLOGY_FEATURES

    rng = random.Random(seed)
    data = load_breast_cancer()
    reports = []
    for index in range(count):
        row = data.data[index % len(data.data)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, zip_code = rng.choice(CITIES)
        malignant = data.target[index % len(data.data)] == 0
        reports.append(
            {
                "report_id": f"CR-{seed}-{index:05d}",
                "patient": {
                    "patient_id": f"MRN-{rng.randint(1_000_000, 9_999_999)}",
                    "name": f"{first} {last}",
                    "birth_date": f"{rng.randint(1930, 1990)}-{rng.randint(1, 12):02d}-14",
                    "sex": "F",
                    "address": {
                        "line": [f"{rng.randint(1, 999)} Larkspur Lane"],
                        "city": city,
                        "postal_code": zip_code,
                    },
                    "phone": f"217-555-{rng.randint(0, 9999):04d}",
                },
                "encounter_date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "facility": f"{city} General Hospital",
                "physician": "Dr. Amos Whitcombe",
                "diagnoses": [
                    {"code": "C50.9", "display": "Malignant neoplasm of breast, unspecified"}
                    if malignant
                    else {"code": "N60.1", "display": "Diffuse cystic mastopathy"}
                ],
                "cytology": dict(zip(CYTOLOGY_FEATURES, map(float, row), strict=True)),
                "notes": f"{first} {last} seen by Dr. Whitcombe; fine-needle aspirate reviewed.",
            }
        )
    return reports
