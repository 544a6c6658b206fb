"""Per-service S3 identities in the local SeaweedFS: each service may touch only its own
buckets. A SeaweedFS of its own (fresh ports, a temporary directory) is started for this
module, because a running gateway knows only the identities it was started with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio.error import S3Error

from medshare_infra.processes import free_port
from medshare_infra.servers import BUCKETS, Ports, SeaweedServer
from medshare_shared.object_store import ObjectStore

# What each service may do per bucket: the anonymizer alone reads raw besides ingest,
# and alone writes the held zone (quarantined candidates), which only the catalog reads,
# for stewards; inference sees only the shared zone and the models.
EXPECTED = {
    "ingest": {"medshare-raw": {"read", "write"}},
    "anonymizer": {
        "medshare-raw": {"read"},
        "medshare-shared": {"read", "write"},
        "medshare-held": {"read", "write"},
    },
    "inference": {"medshare-shared": {"read"}, "medshare-models": {"read"}},
    "catalog": {"medshare-shared": {"read", "write"}, "medshare-held": {"read"}},
}


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    ports = Ports(
        kafka=0,
        kafka_controller=0,
        s3=free_port(),
        seaweed_master=free_port(),
        seaweed_volume=free_port(),
        seaweed_filer=free_port(),
        seaweed_admin=free_port(),
        mongo=0,
    )
    server = SeaweedServer(Path(tmp_path_factory.mktemp("s3-policies")), ports)
    server.install()
    server.prepare()
    server.log_file.parent.mkdir(parents=True, exist_ok=True)
    process = server.process()
    process.start()
    try:
        deadline = time.monotonic() + 180
        while not _ready(server):
            assert time.monotonic() < deadline, "SeaweedFS did not start:\n" + _tail(server)
            time.sleep(1)
        yield server
    finally:
        process.stop()


def _ready(server: SeaweedServer) -> bool:
    try:
        return server.ready()
    except Exception:  # still starting
        return False


def _tail(server: SeaweedServer) -> str:
    return "\n".join(server.log_file.read_text(errors="replace").splitlines()[-20:])


def _allowed(store: ObjectStore, bucket: str) -> set[str]:
    found = set()
    try:
        store.get_sync(bucket, "probe")
        found.add("read")
    except S3Error as error:
        assert error.code == "AccessDenied", error.code
    try:
        store.put_sync(bucket, "written", b"y", "text/plain")
        found.add("write")
    except S3Error as error:
        assert error.code == "AccessDenied", error.code
    return found


def test_each_service_reaches_only_its_own_buckets(seaweed: SeaweedServer) -> None:
    admin = ObjectStore(seaweed.address, *seaweed.credentials())
    for bucket in BUCKETS:
        admin.put_sync(bucket, "probe", b"x", "text/plain")
    for service, grants in EXPECTED.items():
        access, secret = seaweed.credentials(service)
        assert access != seaweed.credentials()[0]
        store = ObjectStore(seaweed.address, access, secret)
        found = {bucket: _allowed(store, bucket) for bucket in BUCKETS}
        expected = {bucket: grants.get(bucket, set()) for bucket in BUCKETS}
        assert found == expected, service


def test_service_keys_are_kept_out_of_the_configuration_passed_on_the_command_line(
    seaweed: SeaweedServer,
) -> None:
    command = " ".join(seaweed.command())
    for service in EXPECTED:
        assert seaweed.credentials(service)[1] not in command
