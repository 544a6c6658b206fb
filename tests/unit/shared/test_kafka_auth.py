"""Kafka client authentication from the environment: one principal per service."""

from __future__ import annotations

from pathlib import Path

import pytest
from faststream.security import SASLScram512

from medshare_shared.kafka_auth import broker_security, client_options


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDSHARE_KAFKA_SECURITY_PROTOCOL", raising=False)
    assert client_options() == {}
    assert broker_security() is None


def test_scram_from_a_password_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("MEDSHARE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("MEDSHARE_KAFKA_SASL_USERNAME", "medshare-catalog")
    monkeypatch.setenv("MEDSHARE_KAFKA_SASL_PASSWORD_FILE", str(secret))
    assert client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "medshare-catalog",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(broker_security(), SASLScram512)


def test_sasl_without_credentials_is_refused_with_the_variables_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDSHARE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("MEDSHARE_KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.delenv("MEDSHARE_KAFKA_SASL_PASSWORD_FILE", raising=False)
    with pytest.raises(ValueError, match="MEDSHARE_KAFKA_SASL_USERNAME"):
        client_options()
