from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

from weather import Place
from weather.models import parse_forecast, parse_places


def _answer(**overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "latitude": 52.52,
        "longitude": 13.419998,
        "generationtime_ms": 0.1,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "hourly_units": {"time": "iso8601"},
        "hourly": {
            "time": ["2026-12-04T00:00", "2026-12-04T01:00", "2026-12-04T02:00"],
            "temperature_2m": [1.5, None, -0.5],
            "precipitation_probability": [10, None, 80],
            "weather_code": [3, None, 61],
        },
        "daily": {
            "time": ["2026-12-04"],
            "weather_code": [61],
            "temperature_2m_max": [4.0],
            "temperature_2m_min": [None],
            "precipitation_probability_max": [80],
        },
        "current": {"time": "2026-12-04T01:45", "interval": 900, "temperature_2m": 1.1, "weather_code": 2},
    }
    answer.update(overrides)
    return answer


def test_forecast_parsing_nulls_and_times() -> None:
    forecast = parse_forecast(_answer())
    first, second, third = forecast.hours
    assert first.time == datetime(2026, 12, 4, tzinfo=UTC)
    assert (first.temperature_c, first.precipitation_probability, first.weather_code) == (1.5, 10, 3)
    assert (second.temperature_c, second.precipitation_probability, second.weather_code) == (None, None, None)
    assert second.description == "Unknown weather"
    assert third.weather_code == 61
    [day] = forecast.days
    assert (day.date, day.t_min, day.t_max, day.precipitation_probability_max) == (
        date(2026, 12, 4),
        None,
        4.0,
        80,
    )
    assert forecast.current is not None
    assert forecast.current.time == datetime(2026, 12, 4, 1, 45, tzinfo=UTC)
    assert forecast.current.temperature_c == 1.1


def test_at_finds_the_hour_containing_a_time() -> None:
    forecast = parse_forecast(_answer())
    start = datetime(2026, 12, 4, tzinfo=UTC)
    assert forecast.at(start) is forecast.hours[0]
    assert forecast.at(start + timedelta(minutes=59, seconds=59)) is forecast.hours[0]
    assert forecast.at(start + timedelta(hours=1)) is forecast.hours[1]
    assert forecast.at(start + timedelta(hours=2, minutes=30)) is forecast.hours[2]
    assert forecast.at(start + timedelta(hours=3)) is None
    assert forecast.at(start - timedelta(seconds=1)) is None
    # another zone, same instant: 03:30 at UTC+2 is 01:30 UTC
    assert forecast.at(datetime(2026, 12, 4, 3, 30, tzinfo=timezone(timedelta(hours=2)))) is forecast.hours[1]
    with pytest.raises(ValueError, match="timezone-aware"):
        forecast.at(datetime(2026, 12, 4, 1))


def test_local_times_are_converted_to_utc() -> None:
    forecast = parse_forecast(_answer(utc_offset_seconds=3600, timezone="Europe/Berlin"))
    assert forecast.hours[0].time == datetime(2026, 12, 3, 23, tzinfo=UTC)


def test_missing_optional_blocks() -> None:
    answer = _answer()
    del answer["daily"], answer["current"]
    forecast = parse_forecast(answer)
    assert forecast.days == [] and forecast.current is None and len(forecast.hours) == 3


@pytest.mark.parametrize(
    "broken",
    [
        {"hourly": None},
        {"hourly": {"time": ["2026-12-04T00:00"], "temperature_2m": [1.0]}},
        {
            "hourly": {
                "time": ["2026-12-04T00:00", "2026-12-04T01:00"],
                "temperature_2m": [1.0],
                "precipitation_probability": [1, 2],
                "weather_code": [1, 2],
            }
        },
        {
            "hourly": {
                "time": ["2026-12-04T01:00", "2026-12-04T00:00"],
                "temperature_2m": [1.0, 2.0],
                "precipitation_probability": [1, 2],
                "weather_code": [1, 2],
            }
        },
        {"latitude": "north"},
    ],
)
def test_wrong_shapes_are_rejected(broken: dict[str, Any]) -> None:
    with pytest.raises((pydantic.ValidationError, ValueError)):
        parse_forecast(_answer(**broken))


def test_geocoding_without_results_key_is_empty() -> None:
    assert parse_places({"generationtime_ms": 0.5}) == []


def test_geocoding_drops_results_without_time_zone() -> None:
    results = [
        {"id": 1, "name": "Nowhere", "latitude": 1.0, "longitude": 2.0},
        {"id": 2, "name": "Somewhere", "latitude": 1.0, "longitude": 2.0, "timezone": "UTC", "extra": [1]},
    ]
    assert [p.name for p in parse_places({"results": results})] == ["Somewhere"]


def test_place_label() -> None:
    paris = Place("Paris", 48.85, 2.35, "Europe/Paris", "France", "FR", "Île-de-France")
    assert paris.label == "Paris, Île-de-France, France"
    assert Place("Tokyo", 35.7, 139.7, "Asia/Tokyo", "Japan", "JP", "Tokyo").label == "Tokyo, Japan"
    assert Place("Atlantis", 0.0, 0.0, "UTC").label == "Atlantis"
