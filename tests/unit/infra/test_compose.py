"""The deployment's docker-compose.yml, checked with the compose file's own structure.

No Docker engine runs here, so the file is parsed as YAML (anchors and merge keys
included, as compose does) and every reference in it is resolved against the
repository: services, build files, volumes, secrets, ports, health checks, topics
and the settings each service really reads.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from medshare_shared.topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("ingest", "anonymizer", "inference", "catalog")
SCALABLE = ("anonymizer", "inference")
SETTINGS = {
    "ingest": "medshare_ingest.settings:IngestSettings",
    "anonymizer": "medshare_anonymizer.settings:AnonymizerSettings",
    "inference": "medshare_inference.settings:InferenceSettings",
    "catalog": "medshare_catalog.settings:CatalogSettings",
}
# Read by the shared settings loader itself rather than a settings field.
LOADER_VARIABLES = {"MEDSHARE_SECRETS_DIR"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, str]]:
    value = service.get("depends_on", {})
    if isinstance(value, list):
        return {name: {"condition": "service_started"} for name in value}
    return dict(value)


def test_every_part_of_the_deployment_is_there(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    assert {"kafka", "mongo", "minio", *SERVICES} <= names
    assert services(compose)["kafka"]["image"].startswith("apache/kafka:")
    assert services(compose)["mongo"]["image"].startswith("mongo:")
    assert services(compose)["minio"]["image"].startswith("minio/minio")
    assert "KAFKA_PROCESS_ROLES" in services(compose)["kafka"]["environment"]  # KRaft


def test_each_service_builds_from_its_own_container_file(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        build = services(compose)[name]["build"]
        dockerfile = REPO / build.get("context", ".") / build["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        text = dockerfile.read_text()
        for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.MULTILINE):
            assert (REPO / source).exists(), f"{dockerfile.name} copies missing {source}"
        assert f'"medshare", "{name}", "serve"' in text
        carries_torch = "torch" in text
        assert carries_torch == (name == "inference"), f"torch in {name} image: {carries_torch}"


def test_only_inference_depends_on_torch() -> None:
    for name in SERVICES:
        pyproject = (REPO / "services" / name / "pyproject.toml").read_text()
        assert ('"torch' in pyproject) == (name == "inference"), name
    assert '"torch' not in (REPO / "shared" / "pyproject.toml").read_text()


def test_volumes_secrets_and_bind_mounts_resolve(compose: dict[str, Any]) -> None:
    declared_volumes = set(compose.get("volumes", {}))
    declared_secrets = set(compose.get("secrets", {}))
    used_volumes = set()
    for name, service in services(compose).items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
                used_volumes.add(source)
        for secret in service.get("secrets", []):
            secret_name = secret if isinstance(secret, str) else secret["source"]
            assert secret_name in declared_secrets, f"{name} uses undeclared secret {secret_name}"
    assert used_volumes == declared_volumes, "declared volumes nobody uses"
    for spec in compose["secrets"].values():
        # Secret files are generated per deployment and must never be committed.
        assert spec["file"].startswith("./secrets/")
    assert "/secrets/" in (REPO / ".gitignore").read_text().splitlines()


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    all_services = services(compose)
    for name, service in all_services.items():
        for target, rule in depends_on(service).items():
            assert target in all_services, f"{name} depends on unknown {target}"
            condition = rule.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in all_services[target], f"{target} has no health check"
            if condition == "service_completed_successfully":
                assert all_services[target].get("restart") == "no"
    for name in (*SERVICES, "kafka", "mongo", "minio"):
        assert "healthcheck" in all_services[name], name
    for name in SERVICES:
        assert {"kafka-init", "minio-init", "mongo"} <= set(depends_on(all_services[name]))


def test_ports_are_loopback_unique_and_scaling_is_possible(compose: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            host_ip, host_port, _container = str(port).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            assert host_port not in seen, f"{name} and {seen.get(host_port)} share {host_port}"
            seen[host_port] = name
    for name in SCALABLE:
        # A fixed host port or container name would stop `--scale NAME=3`.
        assert not services(compose)[name].get("ports"), name
        assert "container_name" not in services(compose)[name], name


def test_topic_creation_covers_the_topic_registry(compose: dict[str, Any]) -> None:
    script = "\n".join(services(compose)["kafka-init"]["command"])
    for spec in ALL_TOPICS:
        assert spec.name in script.split(), spec.name
    partitions = int(re.search(r"--partitions (\d+)", script).group(1))  # type: ignore[union-attr]
    assert partitions >= 3, "scaling to 3 replicas needs at least 3 partitions"


def test_every_medshare_variable_is_a_setting_the_service_reads(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        module_name, class_name = SETTINGS[name].split(":")
        settings_class = getattr(importlib.import_module(module_name), class_name)
        fields = {f"MEDSHARE_{field.upper()}" for field in settings_class.model_fields}
        for variable in services(compose)[name]["environment"]:
            if variable.startswith("MEDSHARE_") and variable not in LOADER_VARIABLES:
                assert variable in fields, f"{name} is given {variable}, which it never reads"
