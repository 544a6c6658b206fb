"""How every Kafka client of a service authenticates: one principal per service.

Read from the environment (and the secrets directory), so that every client (the
FastStream broker, producers, admin clients, the lag watcher, backfill) uses the same
identity without each caller passing settings around:

- `MEDSHARE_KAFKA_SECURITY_PROTOCOL`: PLAINTEXT (default), SASL_PLAINTEXT or SASL_SSL
- `MEDSHARE_KAFKA_SASL_MECHANISM`: SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN
- `MEDSHARE_KAFKA_SASL_USERNAME`: the service's principal
- the password from `MEDSHARE_KAFKA_SASL_PASSWORD_FILE`, or the secrets-directory file
  `medshare_kafka_sasl_password` (what the Helm chart mounts); never from the repository.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["KafkaAuth", "broker_security", "client_options"]


class KafkaAuth(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDSHARE_",
        extra="ignore",
        secrets_dir=os.environ.get("MEDSHARE_SECRETS_DIR") or None,
    )

    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_sasl_password_file: Path | None = None

    @property
    def sasl(self) -> bool:
        return self.kafka_security_protocol != "PLAINTEXT"

    def password(self) -> str:
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text().strip()
        return self.kafka_sasl_password.get_secret_value().strip()

    def check(self) -> None:
        if self.sasl and not (self.kafka_sasl_username and self.password()):
            raise ValueError(
                "MEDSHARE_KAFKA_SECURITY_PROTOCOL asks for SASL: set MEDSHARE_KAFKA_SASL_USERNAME "
                "and MEDSHARE_KAFKA_SASL_PASSWORD_FILE (or the secrets-directory file)"
            )


def _auth() -> KafkaAuth:
    auth = KafkaAuth()
    auth.check()
    return auth


def client_options() -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    auth = _auth()
    if not auth.sasl:
        return {}
    options: dict[str, Any] = {
        "security_protocol": auth.kafka_security_protocol,
        "sasl_mechanism": auth.kafka_sasl_mechanism,
        "sasl_plain_username": auth.kafka_sasl_username,
        "sasl_plain_password": auth.password(),
    }
    if auth.kafka_security_protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context()
    return options


def broker_security() -> BaseSecurity | None:
    """The same identity for a FastStream KafkaBroker."""
    auth = _auth()
    if not auth.sasl:
        return None
    use_ssl = auth.kafka_security_protocol == "SASL_SSL"
    kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256}.get(
        auth.kafka_sasl_mechanism, SASLPlaintext
    )
    return kind(auth.kafka_sasl_username, auth.password(), use_ssl=use_ssl)
