import pytest

from medshare_ingest.settings import IngestSettings
from medshare_shared.settings import SettingsError, load_settings


def test_limits_from_comma_separated_or_json_uids(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDSHARE_ACCEPTED_SOP_CLASSES", "1.2.840.10008.5.1.4.1.1.2, 1.2.3")
    monkeypatch.setenv("MEDSHARE_ACCEPTED_TRANSFER_SYNTAXES", '["1.2.840.10008.1.2.1"]')
    monkeypatch.setenv("MEDSHARE_MAX_OBJECT_BYTES", "2048")
    limits = load_settings(IngestSettings).limits
    assert limits.sop_classes == {"1.2.840.10008.5.1.4.1.1.2", "1.2.3"}
    assert limits.transfer_syntaxes == {"1.2.840.10008.1.2.1"}
    assert limits.max_object_bytes == 2048


def test_defaults_accept_every_storage_class(clean_environ: None) -> None:
    limits = load_settings(IngestSettings).limits
    assert "1.2.840.10008.5.1.4.1.1.2" in limits.accepted_sop_classes  # CT
    assert len(limits.accepted_sop_classes) > 100
    assert "1.2.840.10008.1.2.4.50" in limits.transfer_syntaxes  # JPEG baseline


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MEDSHARE_ACCEPTED_SOP_CLASSES", "CT,MR", "MEDSHARE_ACCEPTED_SOP_CLASSES"),
        ("MEDSHARE_MAX_REQUEST_BYTES", "12", "MEDSHARE_MAX_REQUEST_BYTES"),
        ("MEDSHARE_INGEST_PUBLISH_TIMEOUT_S", "0", "MEDSHARE_INGEST_PUBLISH_TIMEOUT_S"),
        ("MEDSHARE_DIMSE_PORT", "104", "MEDSHARE_DIMSE_ALLOWED_AES"),
    ],
)
def test_bad_values_name_the_variable(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=named):
        load_settings(IngestSettings)


def test_scp_allow_list_from_json(clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSHARE_DIMSE_PORT", "11112")
    monkeypatch.setenv("MEDSHARE_DIMSE_ALLOWED_AES", '{"PACS_A": "st-elsewhere"}')
    assert load_settings(IngestSettings).dimse_allowed_aes == {"PACS_A": "st-elsewhere"}
