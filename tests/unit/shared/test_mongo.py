"""Every write of the services is journaled, with `w` from the setting."""

import pytest

from medshare_shared.mongo import durable_writes, mongo_client
from medshare_shared.settings import CommonSettings, SettingsError, load_settings


async def test_client_writes_are_journaled_with_majority_by_default(clean_environ: None) -> None:
    client = mongo_client(load_settings(CommonSettings))
    try:
        assert client.write_concern.document == {"w": "majority", "j": True}
    finally:
        await client.close()


async def test_a_node_count_is_a_number(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDSHARE_MONGO_WRITE_CONCERN_W", "1")
    client = mongo_client(load_settings(CommonSettings))
    try:
        assert client.write_concern.document == {"w": 1, "j": True}
    finally:
        await client.close()


@pytest.mark.parametrize("value", ["0", "all", "-1", ""])
def test_unknown_write_concern_is_refused(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MEDSHARE_MONGO_WRITE_CONCERN_W", value)
    with pytest.raises(SettingsError, match="MEDSHARE_MONGO_WRITE_CONCERN_W"):
        load_settings(CommonSettings)


def test_journal_cannot_be_turned_off() -> None:
    assert durable_writes("2") == {"w": 2, "journal": True}
