"""DEFAULT_TIMEZONE: only zones the bot itself accepts, under their canonical names."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def no_zone_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEFAULT_TIMEZONE", "default_timezone"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("given", "kept"), [("UTC", "UTC"), (" europe/berlin ", "Europe/Berlin")])
def test_a_zone_is_kept_under_its_canonical_name(given: str, kept: str) -> None:
    assert load_settings(_env_file=None, default_timezone=given).default_timezone == kept


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Factory", "posixrules", "localtime", "", "../etc/passwd"])
def test_a_zone_the_bot_rejects_is_a_settings_error(zone: str) -> None:
    with pytest.raises(SettingsError, match=r"^setting DEFAULT_TIMEZONE: .* is not an IANA time zone"):
        load_settings(_env_file=None, default_timezone=zone)
