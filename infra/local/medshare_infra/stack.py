"""The local stack: Kafka, S3 and a MongoDB-wire server on this machine, without Docker.

Profiles keep a developer's servers and the test suite's apart:
- `dev` (also the demo): the default ports every service assumes (9092, 8333, 27017),
  data in `var/dev`, kept across restarts.
- `test`: its own ports and `var/test`, wiped whenever the suite starts the servers
  itself, so every `make test` begins from nothing.
- `fault` and `soak`: the same for tests that kill servers, run beside a test session.
`up()` starts only what is not already running and returns those names, so a caller
stops exactly what it started (`down(started)`).
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from medshare_infra.processes import rss_bytes
from medshare_infra.servers import KafkaServer, MongoWireServer, Ports, SeaweedServer, Server

PROFILES: dict[str, Ports] = {
    "dev": Ports(
        kafka=9092,
        kafka_controller=9093,
        s3=8333,
        seaweed_master=9333,
        seaweed_volume=9340,
        seaweed_filer=8888,
        seaweed_admin=23646,
        mongo=27017,
    ),
    "test": Ports(
        kafka=29092,
        kafka_controller=29093,
        s3=28333,
        seaweed_master=29333,
        seaweed_volume=29340,
        seaweed_filer=28888,
        seaweed_admin=23666,
        mongo=27027,
    ),
    # Its own servers for developing fault tests (they restart servers) while other
    # test sessions use the "test" ones: MEDSHARE_STACK_PROFILE=fault make test.
    "fault": Ports(
        kafka=29192,
        kafka_controller=29193,
        s3=28533,
        seaweed_master=29533,
        seaweed_volume=29540,
        seaweed_filer=28688,
        seaweed_admin=23866,
        mongo=27037,
    ),
    # The kill -9 soak's own servers, so it can run beside a fault-test session.
    "soak": Ports(  # SeaweedFS also takes each port + 100 (gRPC): no overlap with `fault`
        kafka=29292,
        kafka_controller=29293,
        s3=28543,
        seaweed_master=29553,
        seaweed_volume=29560,
        seaweed_filer=28698,
        seaweed_admin=23876,
        mongo=27047,
    ),
}
PROFILES["demo"] = PROFILES["dev"]
WIPED_ON_START = {"test", "fault", "soak"}
START_TIMEOUT_S = {"kafka": 120.0, "seaweedfs": 90.0, "mongo": 60.0}
# How long a killed server's last threads may take to let go of its port.
PORT_RELEASE_S = 20.0


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Makefile").exists() and (parent / "services").is_dir():
            return parent
    return Path.cwd()


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    mongo_url: str


@dataclass(frozen=True)
class ServerStatus:
    name: str
    address: str
    pid: int | None
    up: bool
    rss_bytes: int


class LocalStack:
    def __init__(self, profile: str, data_dir: Path):
        self.profile = profile
        self.data_dir = data_dir
        ports = PROFILES[profile]
        self.kafka = KafkaServer(data_dir, ports)
        self.seaweed = SeaweedServer(data_dir, ports)
        self.mongo = MongoWireServer(data_dir, ports)
        self.servers: dict[str, Server] = {
            server.name: server for server in (self.kafka, self.seaweed, self.mongo)
        }

    @classmethod
    def for_profile(cls, profile: str = "dev") -> LocalStack:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        base = os.environ.get("MEDSHARE_DATA_DIR")
        root = Path(base) if base else repo_root() / "var"
        name = "dev" if profile == "demo" else profile
        return cls(profile, root / name)

    # -- lifecycle ------------------------------------------------------------------
    def up(self) -> list[str]:
        """Start every server not already running; returns the names it started."""
        missing = [name for name, server in self.servers.items() if not self._running(server)]
        if not missing:
            return []
        if self.profile in WIPED_ON_START and len(missing) == len(self.servers):
            self._wipe()
        # Downloads and JVM start-up dominate: do the three side by side.
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            list(pool.map(self.start, missing))
        return missing

    def start(self, name: str) -> None:
        server = self.servers[name]
        if self._running(server):
            return
        if server.port_in_use():
            raise RuntimeError(
                f"port {server.port} for {name} is taken by another program; "
                f"stop it or use another profile"
            )
        server.install()
        server.prepare()
        process = server.process()
        process.start()
        process.wait_until(server.ready, START_TIMEOUT_S[name])

    def stop(self, name: str, hard: bool = False) -> None:
        """Stop one server; returns once its port is free again.

        After SIGKILL the main thread of a multi-threaded server (weed, the JVM) is
        reaped before its other threads have closed the sockets: wait for the port.
        """
        server = self.servers[name]
        server.process().stop(hard=hard)
        deadline = time.monotonic() + PORT_RELEASE_S
        while server.port_in_use() and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self, name: str, downtime_s: float = 0.0) -> None:
        """Stop one server and start it again on the same data (fault tests)."""
        self.stop(name)
        time.sleep(downtime_s)
        self.start(name)

    def down(self, names: list[str] | None = None) -> list[str]:
        """Stop the named servers (all when None); returns those that were running."""
        stopped = []
        for name in names if names is not None else list(self.servers):
            process = self.servers[name].process()
            if process.running():
                process.stop()
                stopped.append(name)
        return stopped

    def _running(self, server: Server) -> bool:
        return server.process().running()

    def _wipe(self) -> None:
        for server in self.servers.values():
            if server.data_dir.exists():
                shutil.rmtree(server.data_dir)

    # -- what callers need ------------------------------------------------------------
    @property
    def endpoints(self) -> Endpoints:
        access, secret = self.seaweed.credentials()
        return Endpoints(
            kafka_bootstrap=self.kafka.address,
            s3_endpoint=self.seaweed.address,
            s3_access_key=access,
            s3_secret_key=secret,
            mongo_url=self.mongo.address,
        )

    def env(self, service: str | None = None) -> dict[str, str]:
        """The MEDSHARE_ variables that point a service at this stack: with `service`,
        that service's own S3 identity (only its bucket grants); without, the admin's."""
        endpoints = self.endpoints
        access, secret = endpoints.s3_access_key, endpoints.s3_secret_key
        if service is not None:
            access, secret = self.seaweed.credentials(service)
        return {
            "MEDSHARE_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
            "MEDSHARE_S3_ENDPOINT": endpoints.s3_endpoint,
            "MEDSHARE_S3_ACCESS_KEY": access,
            "MEDSHARE_S3_SECRET_KEY": secret,
            "MEDSHARE_MONGO_URL": endpoints.mongo_url,
        }

    def status(self) -> list[ServerStatus]:
        statuses = []
        for name, server in self.servers.items():
            pid = server.process().pid()
            up = False
            if pid is not None:
                try:
                    up = server.ready()
                except Exception:  # running but not answering: report it as down
                    up = False
            statuses.append(
                ServerStatus(name, server.address, pid, up, rss_bytes(pid) if pid else 0)
            )
        return statuses

    def log_files(self) -> dict[str, Path]:
        return {name: server.log_file for name, server in self.servers.items()}
