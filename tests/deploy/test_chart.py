"""The Helm chart lints, renders for both profiles, and every object fits its schema.

No cluster: `helm lint` and `helm template` run the chart's logic, and the rendered
objects are validated against the Kubernetes schemas (strict: an unknown field fails)
and the KEDA and Strimzi CRD schemas.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import tools
from tests.deploy.conftest import CHART, PROFILES, Render

HERE = Path(__file__).resolve().parent
# The first run on a machine builds helm inside the first test's setup: 4.6 CPU-minutes,
# 16 minutes of wall clock on a 2-core machine shared with other jobs; over the 600 s default.
pytestmark = pytest.mark.timeout(2400)


def test_helm_lints_both_profiles(helm_run: Render, secrets_values: Path) -> None:
    for profile, files in PROFILES.items():
        args = [arg for path in files for arg in ("-f", str(path))]
        result = helm_run(
            "lint",
            "--strict",
            "--kube-version",
            tools.KUBERNETES_VERSION,
            CHART,
            *args,
            "-f",
            str(secrets_values),
        )
        assert result.returncode == 0, f"{profile}:\n{result.stdout}{result.stderr}"
        assert "0 chart(s) failed" in result.stdout


def validate(manifests: Path) -> subprocess.CompletedProcess[str]:
    """validate_manifests.py on `manifests`, in the validator's own Python (JSON on stdout)."""
    return subprocess.run(
        [
            str(tools.validator_python()),
            str(HERE / "validate_manifests.py"),
            tools.KUBERNETES_VERSION,
            str(manifests),
            *map(str, tools.crd_files()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_rendered_objects_fit_the_kubernetes_and_crd_schemas(
    manifests: Path, objects: list[dict[str, Any]]
) -> None:
    result = validate(manifests)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert len(report["checked"]) == len(objects)
    kinds = Counter(obj["kind"] for obj in objects)
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert kinds[kind] == 4, kind
    secrets = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Secret"}
    assert {
        f"medshare-{name}" for name in ("ingest", "anonymizer", "inference", "catalog")
    } <= secrets
    assert kinds["ScaledObject"] == 4
    assert kinds["KafkaTopic"] == 7


def test_the_validator_rejects_a_wrong_object(manifests: Path, tmp_path: Path) -> None:
    """The schema check can fail: a misspelt field and a bad CRD value are both caught."""
    text = manifests.read_text()
    broken = (
        text.replace("terminationGracePeriodSeconds:", "terminationGracePeriod:", 1)
        .replace("patternType: literal", "patternType: glob", 1)
        .replace("minReplicaCount:", "minReplicas:", 1)
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    result = validate(path)
    errors = json.loads(result.stdout)["errors"]
    assert any("terminationGracePeriod" in error for error in errors), errors
    assert any("ScaledObject" in error and "minReplicas" in error for error in errors), errors
    if "KafkaUser" in text:
        assert any("KafkaUser" in error and "glob" in error for error in errors), errors


def test_the_chart_refuses_raw_credentials_for_other_services(render: Render) -> None:
    result = render("small", "s3.grants.catalog.raw=read")
    assert result.returncode != 0
    assert "only ingest and the anonymizer" in result.stderr


def test_the_chart_refuses_more_consumers_than_partitions(render: Render) -> None:
    result = render("large", "services.anonymizer.autoscaling.maxReplicas=13")
    assert result.returncode != 0
    assert "exceeds the 12 partitions of records.ingested" in result.stderr


def test_the_chart_never_invents_secrets(render: Render, helm_run: Render) -> None:
    result = helm_run("template", "medshare", CHART, "--kube-version", tools.KUBERNETES_VERSION)
    assert result.returncode != 0
    assert "secrets.s3.ingest.accessKey is required" in result.stderr
    short = render("small", "secrets.anonymizerSecret=tooshort")
    assert short.returncode != 0
    assert "at least 16 bytes" in short.stderr
