from __future__ import annotations

from weather import WMO_CODES, HourForecast, describe
from weather.wmo import UNKNOWN

# https://open-meteo.com/en/docs, "WMO Weather interpretation codes (WW)"
DOCUMENTED = {0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77, 80, 81, 82, 85, 86}
DOCUMENTED |= {95, 96, 99}


def test_every_documented_code_is_described() -> None:
    assert set(WMO_CODES) == DOCUMENTED
    for code in DOCUMENTED:
        description, emoji = describe(code)
        assert description and emoji and (description, emoji) != UNKNOWN


def test_unknown_and_missing_codes_fall_back() -> None:
    assert describe(None) == UNKNOWN
    assert describe(4) == UNKNOWN
    assert describe(-1) == UNKNOWN


def test_hour_forecast_uses_the_table() -> None:
    from datetime import UTC, datetime

    hour = HourForecast(datetime(2026, 1, 1, tzinfo=UTC), 3.0, 80, 63)
    assert (hour.description, hour.emoji) == describe(63) == ("Moderate rain", "🌧️")
