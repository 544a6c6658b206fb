"""Profiles run side by side (a test session beside a fault or soak run): no shared port."""

from __future__ import annotations

from dataclasses import asdict

from medshare_infra.stack import PROFILES

GRPC_OFFSET = 100  # SeaweedFS listens on each of its ports + 100 for gRPC (servers.py)


def listened(ports: dict[str, int]) -> set[int]:
    taken = set(ports.values())
    taken |= {
        port + GRPC_OFFSET for name, port in ports.items() if name.startswith(("s3", "seaweed"))
    }
    return taken


def test_no_two_profiles_listen_on_one_port() -> None:
    seen: dict[int, str] = {}
    for name, ports in PROFILES.items():
        if name == "demo":  # the dev profile's other name
            continue
        fields = asdict(ports)
        taken = listened(fields)
        assert len(taken) == len(fields) + sum(n.startswith(("s3", "seaweed")) for n in fields)
        for port in taken:
            assert port not in seen, f"{name} and {seen[port]} both take port {port}"
            seen[port] = name
