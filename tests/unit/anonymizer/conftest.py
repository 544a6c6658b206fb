"""Real DICOM samples (pydicom-data, deid-data) as bytes, and de-identification helpers."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from deid_data.data import get_dataset
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from medshare_anonymizer.pseudonyms import PseudonymKeys

SECRET = b"unit-test-secret-0123456789abcdef"


def sample_path(name: str) -> Path:
    """A pydicom test file by exact name (never triggers a download)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(str(path))


def ultrasound_path(name: str) -> Path:
    return Path(str(get_dataset("ultrasounds"))) / name


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def parse(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data))


@pytest.fixture
def keys() -> PseudonymKeys:
    return PseudonymKeys(SECRET)
