"""What must hold in every deployment, asserted on the rendered chart and on docker-compose.yml.

* Only ingest and the anonymizer hold credentials for the raw (PHI) bucket.
* Every service has liveness and readiness checks, and (where the format has them) limits.
* No consumer group can scale past the partitions of a topic it reads.
* Each Kafka principal may write only the topics its service produces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from medshare_shared.topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[2]
# The first run on a machine builds helm inside the first test's setup: 4.6 CPU-minutes,
# 16 minutes of wall clock on a 2-core machine shared with other jobs; over the 600 s default.
pytestmark = pytest.mark.timeout(2400)
SERVICES = ("ingest", "anonymizer", "inference", "catalog")
RAW_HOLDERS = {"ingest", "anonymizer"}
# Who produces what, from the services' handlers (every consumer may dead-letter to
# records.rejected); institutions publish submissions, `medshare models promote` announces.
WRITES = {
    "ingest": {"records.ingested", "records.rejected"},
    "anonymizer": {"records.deidentified", "records.quarantined", "records.rejected"},
    "inference": {"records.inferred", "records.rejected"},
    "catalog": {"records.rejected"},
    "models-cli": {"models.changed"},
    "keda": set(),
}
READS = {
    "ingest": {"records.submitted"},
    "anonymizer": {"records.ingested"},
    "inference": {"records.deidentified"},
    "catalog": {"records.deidentified", "records.inferred", "records.quarantined"},
}


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def service_of(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"]).removeprefix("medshare-")


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def secrets_mounted(deployment: dict[str, Any]) -> list[str]:
    names = []
    for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.append(source["secret"]["name"])
        if "secret" in volume:
            names.append(volume["secret"]["secretName"])
    return names


# -- the chart -------------------------------------------------------------------------


def test_only_ingest_and_the_anonymizer_hold_raw_bucket_credentials(
    objects: list[dict[str, Any]],
) -> None:
    deployments = {service_of(d): d for d in of_kind(objects, "Deployment")}
    assert set(deployments) == set(SERVICES)
    secrets = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "Secret")}
    (policies,) = [
        obj
        for obj in of_kind(objects, "ConfigMap")
        if obj["metadata"]["name"] == "medshare-s3-policies"
    ]
    raw = "arn:aws:s3:::medshare-raw"
    access_keys: dict[str, str] = {}
    for name, deployment in deployments.items():
        policy = json.loads(policies["data"][f"{name}.json"])
        resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
        assert (raw in resources) == (name in RAW_HOLDERS), name
        assert ("MEDSHARE_RAW_BUCKET" in env_of(deployment)) == (name in RAW_HOLDERS), name
        # The key mounted into the pod is the service's own, not another's.
        own = [s for s in secrets_mounted(deployment) if s in secrets]
        assert own == [f"medshare-{name}"], own
        access_keys[name] = secrets[own[0]]["stringData"]["medshare_s3_access_key"]
    assert len(set(access_keys.values())) == len(SERVICES), "services share an S3 key"


def test_every_deployment_has_probes_limits_and_a_sized_grace_period(
    objects: list[dict[str, Any]],
) -> None:
    pdbs = {service_of(p): p for p in of_kind(objects, "PodDisruptionBudget")}
    for deployment in of_kind(objects, "Deployment"):
        name = service_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            limits = container["resources"]["limits"]
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests), name
        # The consumer waits up to 10 s for in-flight handlers; the pod must outlive that.
        assert pod["terminationGracePeriodSeconds"] >= 30, name
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector, name


def test_no_consumer_group_scales_past_its_partitions(objects: list[dict[str, Any]]) -> None:
    partitions = {
        t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(objects, "KafkaTopic")
    }
    assert set(partitions) == {spec.name for spec in ALL_TOPICS} | {"models.changed"}
    scaled = of_kind(objects, "ScaledObject")
    assert {service_of(s) for s in scaled} == set(SERVICES)
    for scaled_object in scaled:
        name = service_of(scaled_object)
        triggers = scaled_object["spec"]["triggers"]
        assert {t["metadata"]["topic"] for t in triggers} == READS[name], name
        for trigger in triggers:
            assert trigger["type"] == "kafka"
            assert trigger["metadata"]["consumerGroup"] == f"medshare-{name}"
            topic = trigger["metadata"]["topic"]
            assert scaled_object["spec"]["maxReplicaCount"] <= partitions[topic], (name, topic)


def test_each_kafka_principal_writes_only_its_own_topics(
    profile: str, objects: list[dict[str, Any]]
) -> None:
    users = {
        str(u["metadata"]["name"]).removeprefix("medshare-kafka-"): u
        for u in of_kind(objects, "KafkaUser")
    }
    if profile == "small":
        # No authentication in the small profile: no principals to tell apart.
        assert users == {}
        return
    assert set(SERVICES) | {"models-cli", "keda"} <= set(users)
    writers: dict[str, set[str]] = {}
    for name, user in users.items():
        expected = {"records.submitted"} if name.startswith("institution-") else WRITES[name]
        written = set()
        for acl in user["spec"]["authorization"]["acls"]:
            operations = set(acl["operations"])
            assert "All" not in operations, name
            if operations & {"Write", "Create", "Delete", "Alter", "AlterConfigs"}:
                assert acl["resource"]["type"] == "topic", (name, acl)
                assert acl["resource"]["patternType"] == "literal", (name, acl)
                assert operations <= {"Write", "Describe"}, (name, acl)
                written.add(acl["resource"]["name"])
            if acl["resource"]["type"] == "group" and "Read" in operations:
                # Joining a group: only the service's own.
                assert acl["resource"]["name"] == f"medshare-{name}", (name, acl)
        assert written == expected, name
        for topic in written:
            writers.setdefault(topic, set()).add(name)
    for topic, names in writers.items():
        if topic != "records.rejected":
            assert len(names) == 1 or topic == "records.submitted", (topic, names)


def test_only_the_public_doors_take_traffic(objects: list[dict[str, Any]]) -> None:
    deployments = {service_of(d): d for d in of_kind(objects, "Deployment")}
    for policy in of_kind(objects, "NetworkPolicy"):
        name = service_of(policy)
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        ports = {port["port"] for rule in spec["ingress"] for port in rule["ports"]}
        if name in ("anonymizer", "inference"):
            assert ports == {"http"}, name
            assert all(rule.get("from") for rule in spec["ingress"]), name  # metrics only
        elif name == "catalog":
            assert ports == {"http"}
        egress_ports = {port["port"] for rule in spec["egress"] for port in rule["ports"]}
        assert 53 in egress_ports
        # MongoDB: the catalog always, the anonymizer only with the pseudonym vault.
        env = env_of(deployments[name])
        uses_mongo = name == "catalog" or env.get("MEDSHARE_PSEUDONYM_MODE") == "vault"
        assert (27017 in egress_ports) == uses_mongo, name


# -- docker-compose.yml ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def compose_secret_targets(service: dict[str, Any]) -> dict[str, str]:
    """Mounted name -> declared secret, for the short and the long syntax."""
    found = {}
    for item in service.get("secrets", []):
        if isinstance(item, str):
            found[item] = item
        else:
            found[item.get("target", item["source"])] = item["source"]
    return found


def test_compose_gives_raw_bucket_credentials_only_to_ingest_and_the_anonymizer(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    init_script = "\n".join(services["minio-init"]["command"])
    root_keys = set(compose_secret_targets(services["minio"]).values())
    for name in SERVICES:
        mounted = compose_secret_targets(services[name])
        source = mounted["medshare_s3_access_key"]
        assert source not in root_keys, f"{name} holds the store's root key"
        assert source == f"medshare_s3_{name}_access_key", source
        # minio-init attaches the service's policy; only two policies name the raw bucket.
        policy_line = next(
            line for line in init_script.splitlines() if line.strip().startswith(f"policy {name} ")
        )
        assert ("medshare-raw" in policy_line) == (name in RAW_HOLDERS), policy_line
        assert ("MEDSHARE_RAW_BUCKET" in services[name]["environment"]) == (name in RAW_HOLDERS)


def test_compose_services_have_health_checks_and_limits(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        service = compose["services"][name]
        test = " ".join(service["healthcheck"]["test"])
        assert "/readyz" in test, name
        limits = service["deploy"]["resources"]["limits"]
        assert {"cpus", "memory"} <= set(limits), name


def test_compose_topics_have_enough_partitions_for_its_scaling(compose: dict[str, Any]) -> None:
    script = "\n".join(compose["services"]["kafka-init"]["command"])
    partitions = int(script.split("--partitions")[1].split()[0])
    header = (REPO / "docker-compose.yml").read_text().split("\nname:")[0]
    # The header's own scaling example must fit the partitions.
    for part in header.split("--scale ")[1:]:
        replicas = int(part.split("=")[1].split()[0])
        assert replicas <= partitions, part


def test_every_medshare_variable_is_a_setting_the_service_declares(
    objects: list[dict[str, Any]],
) -> None:
    """A misspelt variable would be ignored silently; each must be a settings field.

    Fields are found as `name: type` lines in the service's and the shared package's
    sources, so the check holds wherever the settings module lives.
    """
    loader = {"MEDSHARE_SECRETS_DIR"}  # read by the settings loader itself
    for deployment in of_kind(objects, "Deployment"):
        name = service_of(deployment)
        sources = [*(REPO / "shared").rglob("*.py"), *(REPO / "services" / name).rglob("*.py")]
        text = "\n".join(path.read_text() for path in sources if "tests" not in path.parts)
        for variable in env_of(deployment):
            if variable.startswith("MEDSHARE_") and variable not in loader:
                field = variable.removeprefix("MEDSHARE_").lower()
                assert re.search(rf"^    {field}: ", text, flags=re.MULTILINE), (name, variable)
