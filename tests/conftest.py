"""Test fixtures: one set of real servers per session, fresh names per test.

Integration and end-to-end tests talk to real Kafka, SeaweedFS (S3) and a
MongoDB-wire server started from infra/local on the "test" profile's ports. The
session starts what is not already running and stops only what it started.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


SERVERS_USED: list[str] = []


def announce(config: pytest.Config, message: str) -> None:
    """Print past output capture now, and again in the summary, so the log shows it."""
    SERVERS_USED.append(message)
    reporter = config.pluginmanager.getplugin("terminalreporter")
    capture = config.pluginmanager.getplugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for message in SERVERS_USED:
        terminalreporter.write_line(message)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[object]:
    from medshare_infra.stack import LocalStack

    local = LocalStack.for_profile(os.environ.get("MEDSHARE_STACK_PROFILE", "test"))
    started = local.up()
    endpoints = local.endpoints
    message = (
        f"real servers (started {started or 'none, already up'}): "
        f"kafka={endpoints.kafka_bootstrap} s3={endpoints.s3_endpoint} "
        f"mongo={endpoints.mongo_url}"
    )
    announce(request.config, message)
    yield local
    local.down(started)


@pytest.fixture(scope="session")
def stack_env(stack: object) -> dict[str, str]:
    env: dict[str, str] = stack.env()  # type: ignore[attr-defined]
    return env


@pytest.fixture(scope="session")
def mongo_url(stack_env: dict[str, str]) -> str:
    return stack_env["MEDSHARE_MONGO_URL"]


@pytest.fixture
def mongo_db_name() -> str:
    return unique("test_")


@pytest.fixture(scope="session")
def object_store(stack_env: dict[str, str]) -> object:
    from medshare_shared.object_store import ObjectStore

    return ObjectStore(
        stack_env["MEDSHARE_S3_ENDPOINT"],
        stack_env["MEDSHARE_S3_ACCESS_KEY"],
        stack_env["MEDSHARE_S3_SECRET_KEY"],
    )


@pytest.fixture
def fresh_bucket(object_store: object) -> str:
    name = unique("test-")
    object_store.ensure_bucket_sync(name)  # type: ignore[attr-defined]
    return name


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "anonymizer.key"
    path.write_text(secrets.token_hex(32))
    return path


@pytest.fixture
def pipeline_env(stack_env: dict[str, str], secret_file: Path) -> dict[str, str]:
    """Environment for one isolated pipeline: its own topics, buckets and database."""
    from medshare_infra.services import fresh_env

    return fresh_env(
        stack_env,
        secret_file,
        "t",
        {"MEDSHARE_CONSUMER_SESSION_TIMEOUT_MS": "6000", "MEDSHARE_LOG_LEVEL": "INFO"},
    )


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove MEDSHARE_ variables a developer may have exported."""
    for key in list(os.environ):
        if key.startswith("MEDSHARE_"):
            monkeypatch.delenv(key)
