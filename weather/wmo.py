"""WMO weather interpretation codes, as Open-Meteo documents them, with a short description and an emoji."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

UNKNOWN: tuple[str, str] = ("Unknown weather", "🌡️")

WMO_CODES: Mapping[int, tuple[str, str]] = MappingProxyType(
    {
        0: ("Clear sky", "☀️"),
        1: ("Mainly clear", "🌤️"),
        2: ("Partly cloudy", "⛅"),
        3: ("Overcast", "☁️"),
        45: ("Fog", "🌫️"),
        48: ("Depositing rime fog", "🌫️"),
        51: ("Light drizzle", "🌦️"),
        53: ("Moderate drizzle", "🌦️"),
        55: ("Dense drizzle", "🌧️"),
        56: ("Light freezing drizzle", "🧊"),
        57: ("Dense freezing drizzle", "🧊"),
        61: ("Slight rain", "🌦️"),
        63: ("Moderate rain", "🌧️"),
        65: ("Heavy rain", "🌧️"),
        66: ("Light freezing rain", "🧊"),
        67: ("Heavy freezing rain", "🧊"),
        71: ("Slight snowfall", "🌨️"),
        73: ("Moderate snowfall", "🌨️"),
        75: ("Heavy snowfall", "❄️"),
        77: ("Snow grains", "🌨️"),
        80: ("Slight rain showers", "🌦️"),
        81: ("Moderate rain showers", "🌧️"),
        82: ("Violent rain showers", "⛈️"),
        85: ("Slight snow showers", "🌨️"),
        86: ("Heavy snow showers", "❄️"),
        95: ("Thunderstorm", "⛈️"),
        96: ("Thunderstorm with slight hail", "⛈️"),
        99: ("Thunderstorm with heavy hail", "⛈️"),
    }
)


def describe(code: int | None) -> tuple[str, str]:
    """(short description, emoji) for a WMO code; `UNKNOWN` for None or a code Open-Meteo doesn't document."""
    if code is None:
        return UNKNOWN
    return WMO_CODES.get(code, UNKNOWN)
