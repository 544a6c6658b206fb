"""Every released file is as valid as its source, judged by dicom3tools' dciodvfy.

The corpus is every DICOM file of pydicom's test files, pydicom-data and deid-data
(ultrasounds, dicom-cookies, humans, animals). The header rewrite is judged on every
file (burned-in suspicion set aside, so that the files the pixel policy withholds are
judged too) under the basic profile and under the options that change the rewrite; the
pixel rewrite is judged on the files the real pipeline releases with clean-pixel-data.
Errors are compared normalised (values stripped): an output may keep its source's
errors, never add one.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from deid_data.data import get_dataset

import medshare_anonymizer.dicom.deidentifier as deidentifier
from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
from medshare_anonymizer.pseudonyms import PseudonymKeys
from tests.support.dciodvfy import DCIODVFY, dciodvfy_errors

from .conftest import SECRET

# Not a skip: `make install` installs dicom3tools, and a missing judge must fail loudly.
# Slow (a dciodvfy run per file and output), so `make test-fast` leaves it to `make test`.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def judge_installed() -> None:
    assert DCIODVFY is not None, "dciodvfy not found: run `make install` (Debian dicom3tools)"


DEID_DATA_SETS = ("ultrasounds", "dicom-cookies", "humans", "animals")
REWRITE_OPTIONS = (
    "retain-long-modified-dates",
    "clean-structured-content",
    "clean-descriptors",
    "retain-safe-private",
    "retain-institution-identity",
)


def corpus() -> list[Path]:
    from medshare_infra.samples import sample_dicom_files

    deid = [path for name in DEID_DATA_SETS
            for path in sorted(Path(str(get_dataset(name))).glob("*.dcm"))]  # fmt: skip
    return sample_dicom_files() + deid


@cache
def source_errors(path: Path) -> Counter[str]:
    return dciodvfy_errors(path.read_bytes())


def introduced(options: frozenset[str]) -> tuple[int, dict[str, list[str]]]:
    """(outputs judged, error -> files) for the released outputs under ``options``."""
    keys = PseudonymKeys(SECRET)
    judged, found = 0, {}
    for path in corpus():
        result = deidentify_dicom(path.read_bytes(), keys, "h", options)
        if result.status != "ok" or result.output is None:
            continue
        judged += 1
        for error in dciodvfy_errors(result.output) - source_errors(path):
            found.setdefault(error, []).append(path.name)
    return judged, found


@pytest.mark.parametrize("options", [(), REWRITE_OPTIONS], ids=["basic", "options"])
def test_header_rewrite_adds_no_dciodvfy_error(
    options: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The header alone: every image released as it came, whatever its pixels show.
    monkeypatch.setattr(deidentifier, "_cleaning_boxes", lambda *args: ())
    judged, found = introduced(frozenset(options))
    assert judged >= 120
    assert found == {}


def test_clean_pixel_data_adds_no_dciodvfy_error() -> None:
    judged, found = introduced(frozenset({"clean-pixel-data"}))
    assert judged >= 40
    assert found == {}
