"""Fixtures for the chart checks: helm (built once per machine) and the rendered chart."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import tools

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "infra" / "helm" / "medshare"
PROFILES = {"small": [], "large": [CHART / "values-large.yaml"]}

Render = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def helm() -> Path:
    return tools.helm()


@pytest.fixture(scope="session")
def secrets_values(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh keys for a render, as an operator's own values file would give them."""
    values = {
        "secrets": {
            "s3": {
                name: {
                    "accessKey": f"{name}-{secrets.token_hex(4)}",
                    "secretKey": secrets.token_hex(20),
                }
                for name in ("ingest", "anonymizer", "inference", "catalog")
            },
            "anonymizerSecret": secrets.token_hex(32),
            "catalogJwtSecret": secrets.token_hex(32),
            "ingestApiKeys": {secrets.token_hex(32): "st-elsewhere"},
            "mongoUrl": "mongodb://catalog:pw@mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0",
        }
    }
    path = tmp_path_factory.mktemp("values") / "secrets.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture(scope="session")
def helm_run(helm: Path) -> Render:
    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(helm), *map(str, args)], capture_output=True, text=True, timeout=120
        )

    return run


@pytest.fixture(scope="session")
def render(
    helm_run: Render, secrets_values: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`helm template` of a profile, with extra `--set` overrides."""

    def template(profile: str, *overrides: str) -> subprocess.CompletedProcess[str]:
        files = [arg for path in PROFILES[profile] for arg in ("-f", str(path))]
        sets = [arg for item in overrides for arg in ("--set", item)]
        return helm_run(
            "template",
            "medshare",
            CHART,
            "--kube-version",
            tools.KUBERNETES_VERSION,
            "--namespace",
            "medshare",
            *files,
            "-f",
            str(secrets_values),
            *sets,
        )

    return template


@pytest.fixture(scope="session", params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def manifests(render: Render, profile: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = render(profile)
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp(f"rendered-{profile}") / "chart.yaml"
    path.write_text(result.stdout)
    return path


@pytest.fixture(scope="session")
def objects(manifests: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifests.read_text()) if doc]
