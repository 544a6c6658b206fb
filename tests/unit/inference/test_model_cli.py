"""`medshare models ...` against an in-memory registry."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from medshare_inference import model_cli
from medshare_inference.registry import ModelRegistry

from .conftest import MemoryStore


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Promotions the CLI announced on models.changed (no Kafka in unit tests)."""
    calls: list[tuple[str, str]] = []

    async def record(name: str, version: str) -> None:
        calls.append((name, version))

    monkeypatch.setattr(model_cli, "_announce", record)
    return calls


@pytest.fixture
def cli_registry(
    monkeypatch: pytest.MonkeyPatch, memory_store: MemoryStore, announced: list[tuple[str, str]]
) -> ModelRegistry:
    models = ModelRegistry(memory_store.as_store(), "models-cli")
    monkeypatch.setattr(model_cli, "_registry", lambda: models)
    # Wide, colourless output so assertions see whole words.
    monkeypatch.setattr(model_cli.console, "width", 200)
    return models


def run(*args: str) -> str:
    result = CliRunner().invoke(model_cli.models_cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_list_promote_show(
    cli_registry: ModelRegistry, announced: list[tuple[str, str]]
) -> None:
    out = run("train", "diabetes-progression", "--seed", "5")
    assert "r2" in out and "mae" in out and "training time" in out
    assert "promoted diabetes-progression 1.0.0" in out
    out = run("train", "diabetes-progression", "--seed", "6")
    assert "production stays at 1.0.0" in out
    assert announced == [("diabetes-progression", "1.0.0")]  # only promotions are announced

    out = run("list")
    assert "1.0.0" in out and "1.0.1" in out

    out = run("promote", "diabetes-progression", "1.0.1")
    assert "switch within seconds" in out
    assert announced[-1] == ("diabetes-progression", "1.0.1")
    out = run("show", "diabetes-progression")
    shown = json.loads(out[out.index("{") :])
    assert shown["version"] == "1.0.1"
    assert shown["training_data"]["seed"] == 6


def test_errors_are_reported_not_raised(cli_registry: ModelRegistry) -> None:
    result = CliRunner().invoke(model_cli.models_cli, ["promote", "diabetes-progression", "9.9.9"])
    assert result.exit_code == 1
    assert "not registered" in result.output
    result = CliRunner().invoke(
        model_cli.models_cli, ["train", "diabetes-progression", "--version", "latest"]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(model_cli.models_cli, ["show", "nothing-here"])
    assert result.exit_code == 1 and "no model named" in result.output


def test_promote_completes_when_the_announcement_fails(
    cli_registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(name: str, version: str) -> None:
        raise ConnectionError("no broker")

    monkeypatch.setattr(model_cli, "_announce", unreachable)
    run("train", "diabetes-progression", "--seed", "5", "--no-promote")
    out = run("promote", "diabetes-progression", "1.0.0")
    assert "promoted diabetes-progression 1.0.0" in out
    assert "could not announce the change (ConnectionError)" in out
    assert "alias poll" in out
