"""Fixtures for the reliability suite (fault injection, fuzzing, leak scans).

These tests restart servers, so they run last in a session (the hook below moves
them to the end) and leave every server running and ready when they finish.
Develop them against their own servers: MEDSHARE_STACK_PROFILE=fault.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unique

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run this folder after every other test of the session; the soak only when asked for."""
    if "soak" not in (config.getoption("markexpr", "") or ""):
        soak = [item for item in items if item.get_closest_marker("soak")]
        if soak:
            config.hook.pytest_deselected(items=soak)
            items[:] = [item for item in items if not item.get_closest_marker("soak")]
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    others = [item for item in items if HERE not in Path(str(item.path)).parents]
    items[:] = others + mine


@pytest.fixture(scope="session")
def trained_models_bucket(stack_env: dict[str, str]) -> str:
    """One models bucket for the suite, with the case-report model trained and promoted."""
    bucket = unique("models-rel-")
    subprocess.run(
        [sys.executable, "-m", "medshare_shared", "models", "train", "breast-cancer-malignancy"],
        env={**os.environ, **stack_env, "MEDSHARE_MODELS_BUCKET": bucket},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return bucket


@pytest.fixture(scope="session")
def released_templates() -> list[bytes]:
    """Real DICOM instances (up to 200 kB) that ingest accepts and the anonymizer releases."""
    from medshare_infra.workload import dicom_templates, released_by_pipeline

    templates = dicom_templates(max_bytes=200_000, keep=released_by_pipeline)
    assert len(templates) >= 10, "too few releasable DICOM templates for a realistic mix"
    return templates


@pytest.fixture
def reliability_env(pipeline_env: dict[str, str], trained_models_bucket: str) -> dict[str, str]:
    return {
        **pipeline_env,
        "MEDSHARE_MODELS_BUCKET": trained_models_bucket,
        "MEDSHARE_CATALOG_JWT_SECRET": secrets.token_hex(32),
    }
