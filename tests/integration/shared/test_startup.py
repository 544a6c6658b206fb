"""A service started while a server it needs is away waits for it instead of exiting.

The catalog is pointed at the MongoDB-wire server through a relay that is closed at
first (as a database still restarting is) and opened once the catalog said it is
waiting: the catalog must come up by itself, without being started again.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from medshare_infra.processes import free_port
from medshare_infra.services import ServiceProcess

WAITING = "dependency unavailable at start-up, retrying"


class Relay:
    """TCP on 127.0.0.1:`port` to `target`, accepting only once opened."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def mongo_relay(stack_env: dict[str, str]) -> Iterator[Relay]:
    address = urlsplit(stack_env["MEDSHARE_MONGO_URL"])
    relay = Relay((address.hostname or "127.0.0.1", address.port or 27017))
    yield relay
    relay.close()


def test_catalog_started_before_its_database_waits_for_it(
    pipeline_env: dict[str, str], mongo_relay: Relay, tmp_path: Path
) -> None:
    env = {
        **pipeline_env,
        "MEDSHARE_MONGO_URL": f"mongodb://127.0.0.1:{mongo_relay.port}",
        "MEDSHARE_CATALOG_JWT_SECRET": secrets.token_hex(32),
    }
    catalog = ServiceProcess("catalog", free_port(), env, tmp_path / "catalog.log")
    catalog.start()
    try:
        deadline = time.monotonic() + 180
        while WAITING not in catalog.log_path.read_text():
            assert catalog.is_running(), catalog.tail()
            assert time.monotonic() < deadline, catalog.tail()
            time.sleep(0.5)
        assert not catalog.ready()
        mongo_relay.open()
        catalog.wait_ready(120)
    finally:
        catalog.stop()
    assert "Application startup failed" not in catalog.log_path.read_text()
