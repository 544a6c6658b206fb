from pathlib import Path

import pytest

from medshare_shared.settings import CommonSettings, SettingsError, load_settings, read_secret
from medshare_shared.topics import Topics


def test_defaults_without_environment(clean_environ: None) -> None:
    settings = load_settings(CommonSettings)
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.topics.ingested == "records.ingested"


def test_environment_with_prefix_is_read(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDSHARE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    monkeypatch.setenv("MEDSHARE_TOPIC_PREFIX", "t1.")
    settings = load_settings(CommonSettings)
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.topics.deidentified == "t1.records.deidentified"


def test_invalid_values_name_every_variable(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDSHARE_KAFKA_BOOTSTRAP", "no-port-here")
    monkeypatch.setenv("MEDSHARE_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("MEDSHARE_CONSUMER_SESSION_TIMEOUT_MS", "ten")
    with pytest.raises(SettingsError) as raised:
        load_settings(CommonSettings)
    message = str(raised.value)
    assert "MEDSHARE_KAFKA_BOOTSTRAP" in message
    assert "MEDSHARE_LOG_LEVEL" in message
    assert "MEDSHARE_CONSUMER_SESSION_TIMEOUT_MS" in message


def test_anonymizer_refuses_to_start_without_secret(clean_environ: None) -> None:
    from medshare_anonymizer.settings import AnonymizerSettings

    with pytest.raises(SettingsError, match="MEDSHARE_ANONYMIZER_SECRET_FILE"):
        load_settings(AnonymizerSettings)


def test_secret_file_wins_over_inline(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("from-file-secret\n")
    assert read_secret("inline", path) == b"from-file-secret"
    assert read_secret("inline", None) == b"inline"


def test_topic_registry_lists_every_topic() -> None:
    names = Topics("p.").all()
    assert names == [
        "p.records.submitted",
        "p.records.ingested",
        "p.records.deidentified",
        "p.records.inferred",
        "p.records.quarantined",
        "p.records.rejected",
    ]
