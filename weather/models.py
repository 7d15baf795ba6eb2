"""Public weather types, and the pydantic models of Open-Meteo's JSON answers they are parsed from."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, model_validator

from weather.wmo import describe

_HOUR = timedelta(hours=1)


def as_utc(when: datetime) -> datetime:
    """`when` in UTC; a naive datetime is a programming error (its zone is a guess), so ValueError."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {when.isoformat()}")
    return when.astimezone(UTC)


# --- public types ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A geocoded place."""

    name: str
    latitude: float
    longitude: float
    timezone: str
    country: str | None = None
    country_code: str | None = None
    admin1: str | None = None
    id: int | None = None  # Open-Meteo's (GeoNames) id, stable across answers

    @property
    def label(self) -> str:
        """Like "Paris, Île-de-France, France"; a part repeating an earlier one ("Tokyo, Tokyo") goes."""
        parts = [self.name]
        for part in (self.admin1, self.country):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)


class _Described:
    """A WMO weather code's short description and emoji."""

    __slots__ = ()
    weather_code: int | None

    @property
    def description(self) -> str:
        return describe(self.weather_code)[0]

    @property
    def emoji(self) -> str:
        return describe(self.weather_code)[1]


@dataclass(frozen=True, slots=True)
class HourForecast(_Described):
    """The weather of the hour from `time` (aware, UTC); for `Forecast.current`, the time observed."""

    time: datetime
    temperature_c: float | None
    precipitation_probability: int | None
    weather_code: int | None


@dataclass(frozen=True, slots=True)
class DayForecast(_Described):
    """The weather of one UTC day; `weather_code` is the day's most severe one."""

    date: date
    t_min: float | None
    t_max: float | None
    precipitation_probability_max: int | None
    weather_code: int | None


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast for one point, `hours` sorted. Shared through the client's cache: don't mutate it."""

    latitude: float
    longitude: float
    current: HourForecast | None
    hours: list[HourForecast]
    days: list[DayForecast]

    def at(self, when: datetime) -> HourForecast | None:
        """The hour containing `when` (aware), or None outside the data."""
        when = as_utc(when)
        i = bisect.bisect_right(self.hours, when, key=lambda h: h.time) - 1
        if i < 0 or when >= self.hours[i].time + _HOUR:
            return None
        return self.hours[i]

    def day(self, day: date) -> DayForecast | None:
        """The forecast of the UTC day `day`, or None outside the data."""
        return next((d for d in self.days if d.date == day), None)


# --- Open-Meteo's answers ----------------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class GeocodingResult(_Answer):
    id: int | None = None
    name: str
    latitude: float
    longitude: float
    elevation: float | None = None
    feature_code: str | None = None
    country_code: str | None = None
    country: str | None = None
    admin1: str | None = None
    timezone: str | None = None
    population: int | None = None


class GeocodingAnswer(_Answer):
    """`/v1/search`; the "results" key is absent when nothing matched."""

    results: list[GeocodingResult] = []
    generationtime_ms: float | None = None


def _same_lengths(block: BaseModel) -> None:
    lengths = {name: len(value) for name, value in block if isinstance(value, list)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays of different lengths: {lengths}")


class HourlyBlock(_Answer):
    time: list[datetime]
    temperature_2m: list[float | None]
    precipitation_probability: list[int | None]
    weather_code: list[int | None]

    @model_validator(mode="after")
    def _check(self) -> Self:
        _same_lengths(self)
        return self


class DailyBlock(_Answer):
    time: list[date]
    weather_code: list[int | None]
    temperature_2m_max: list[float | None]
    temperature_2m_min: list[float | None]
    precipitation_probability_max: list[int | None]

    @model_validator(mode="after")
    def _check(self) -> Self:
        _same_lengths(self)
        return self


class CurrentBlock(_Answer):
    time: datetime
    interval: int | None = None
    temperature_2m: float | None = None
    weather_code: int | None = None


class ForecastAnswer(_Answer):
    """`/v1/forecast` with the hourly, daily and current variables the client asks for."""

    latitude: float
    longitude: float
    utc_offset_seconds: int = 0
    timezone: str | None = None
    hourly: HourlyBlock
    daily: DailyBlock | None = None
    current: CurrentBlock | None = None


def parse_places(payload: Any) -> list[Place]:
    """Places from a geocoding answer; results without a time zone are useless for reminders, so dropped."""
    answer = GeocodingAnswer.model_validate(payload)
    return [
        Place(
            name=r.name,
            latitude=r.latitude,
            longitude=r.longitude,
            timezone=r.timezone,
            country=r.country,
            country_code=r.country_code,
            admin1=r.admin1,
            id=r.id,
        )
        for r in answer.results
        if r.timezone
    ]


def parse_forecast(payload: Any) -> Forecast:
    """A Forecast from a forecast answer (pydantic.ValidationError or ValueError when its shape is wrong)."""
    answer = ForecastAnswer.model_validate(payload)
    offset = timedelta(seconds=answer.utc_offset_seconds)

    def utc(t: datetime) -> datetime:
        # iso8601 times are local wall times of the requested zone; unixtime ones arrive already aware
        return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) - offset

    h = answer.hourly
    hours = [
        HourForecast(utc(t), temp, prob, code)
        for t, temp, prob, code in zip(
            h.time, h.temperature_2m, h.precipitation_probability, h.weather_code, strict=True
        )
    ]
    if any(b.time <= a.time for a, b in itertools.pairwise(hours)):
        raise ValueError("hourly times are not increasing")
    days: list[DayForecast] = []
    if (d := answer.daily) is not None:
        days = [
            DayForecast(day, t_min, t_max, prob, code)
            for day, code, t_max, t_min, prob in zip(
                d.time,
                d.weather_code,
                d.temperature_2m_max,
                d.temperature_2m_min,
                d.precipitation_probability_max,
                strict=True,
            )
        ]
    current = None
    if (c := answer.current) is not None:
        current = HourForecast(utc(c.time), c.temperature_2m, None, c.weather_code)
    return Forecast(answer.latitude, answer.longitude, current, hours, days)
