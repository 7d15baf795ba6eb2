"""A faithful fake of Open-Meteo's forecast (/v1/forecast) and geocoding (/v1/search) APIs, over real HTTP.

Answers have the real shapes: the forecast's `latitude`/`longitude` are snapped to a model grid, times are
"YYYY-MM-DDTHH:MM" wall times of the requested `timezone` starting at its 00:00 today, only requested
variables come back, and bad parameters get HTTP 400 `{"error": true, "reason": "..."}`. Weather is
deterministic in (latitude, longitude, UTC hour), with both coordinates rounded to 0.01°.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes.http_server import FakeHTTPServer, Request, Response

HOURLY_UNITS = {"temperature_2m": "°C", "precipitation_probability": "%", "weather_code": "wmo code"}
DAILY_UNITS = {
    "weather_code": "wmo code",
    "temperature_2m_max": "°C",
    "temperature_2m_min": "°C",
    "precipitation_probability_max": "%",
}
CURRENT_UNITS = {"temperature_2m": "°C", "weather_code": "wmo code"}
MAX_FORECAST_DAYS = 16
MALFORMED = b'{"latitude":52.52,"longitude":13.419998,"hourly":{"time":["2026-'

_GRID = 1 / 16  # degrees; the real answer gives the model cell's centre, not the requested point
_UNSET: Any = object()


def _place(
    id: int,
    name: str,
    latitude: float,
    longitude: float,
    elevation: float,
    feature_code: str,
    country_code: str,
    country: str,
    admin1: str,
    timezone: str,
    population: int,
) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "elevation": elevation,
        "feature_code": feature_code,
        "country_code": country_code,
        "country": country,
        "admin1": admin1,
        "timezone": timezone,
        "population": population,
    }


GAZETTEER: tuple[dict[str, Any], ...] = (
    _place(
        2950159,
        "Berlin",
        52.52437,
        13.41053,
        74.0,
        "PPLC",
        "DE",
        "Germany",
        "Berlin",
        "Europe/Berlin",
        3426354,
    ),
    _place(
        3117735, "Madrid", 40.4165, -3.70256, 667.0, "PPLC", "ES", "Spain", "Madrid", "Europe/Madrid", 3255944
    ),
    _place(
        2988507,
        "Paris",
        48.85341,
        2.3488,
        43.0,
        "PPLC",
        "FR",
        "France",
        "Île-de-France",
        "Europe/Paris",
        2138551,
    ),
    _place(
        4717560,
        "Paris",
        33.66094,
        -95.55551,
        183.0,
        "PPLA2",
        "US",
        "United States",
        "Texas",
        "America/Chicago",
        24782,
    ),
    _place(
        4409896,
        "Springfield",
        37.21533,
        -93.29824,
        396.0,
        "PPLA2",
        "US",
        "United States",
        "Missouri",
        "America/Chicago",
        169176,
    ),
    _place(
        4951788,
        "Springfield",
        42.10148,
        -72.58981,
        21.0,
        "PPLA2",
        "US",
        "United States",
        "Massachusetts",
        "America/New_York",
        155929,
    ),
    _place(
        4250542,
        "Springfield",
        39.80172,
        -89.64371,
        182.0,
        "PPLA",
        "US",
        "United States",
        "Illinois",
        "America/Chicago",
        114394,
    ),
    _place(
        5128581,
        "New York",
        40.71427,
        -74.00597,
        10.0,
        "PPL",
        "US",
        "United States",
        "New York",
        "America/New_York",
        8804190,
    ),
    _place(1850147, "Tokyo", 35.6895, 139.69171, 44.0, "PPLC", "JP", "Japan", "Tokyo", "Asia/Tokyo", 8336599),
    _place(
        2643743,
        "London",
        51.50853,
        -0.12574,
        25.0,
        "PPLC",
        "GB",
        "United Kingdom",
        "England",
        "Europe/London",
        8961989,
    ),
)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class _Override:
    at: datetime | None  # a UTC hour, or None for every hour
    values: dict[str, Any]


class _BadRequest(Exception):
    pass


def _hash_unit(*parts: object) -> tuple[float, float, float]:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=6).digest()
    return tuple(int.from_bytes(digest[i : i + 2]) / 0xFFFF for i in (0, 2, 4))  # type: ignore[return-value]


def _float_param(params: dict[str, str], key: str) -> float:
    raw = params.get(key, "")
    try:
        value = float(raw)
    except ValueError:
        raise _BadRequest(f"Value of type 'Float' required for key '{key}'.") from None
    if not math.isfinite(value):
        raise _BadRequest(f"Value of type 'Float' required for key '{key}'.")
    return value


def _int_param(params: dict[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"Value of type 'Int' required for key '{key}'.") from None


def _variables(params: dict[str, str], key: str, allowed: dict[str, str]) -> list[str]:
    names = [v.strip() for v in params.get(key, "").split(",") if v.strip()]
    for name in names:
        if name not in allowed:
            raise _BadRequest(
                f"Cannot initialize ForecastVariable from invalid String value {name} for key {key}"
            )
    return names


class FakeOpenMeteo:
    """Open-Meteo on 127.0.0.1, with request counters and fault injection; thread-safe."""

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._server = FakeHTTPServer(self._handle)
        self._places: list[dict[str, Any]] = [dict(p) for p in GAZETTEER]
        self.requests: list[RecordedRequest] = []
        self._overrides: dict[tuple[float, float], list[_Override]] = {}
        self._fail: list[int] = []  # statuses for the next requests
        self._malformed = 0
        self._hang = 0.0
        self._wake = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FakeOpenMeteo:
        self._server.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self._server.stop()

    def __enter__(self) -> FakeOpenMeteo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def forecast_url(self) -> str:
        return f"{self._server.url}/v1/forecast"

    @property
    def geocoding_url(self) -> str:
        return f"{self._server.url}/v1/search"

    # --- observation and control -------------------------------------------------------------------------

    def _params_of(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [r.params for r in self.requests if r.path == path]

    @property
    def forecast_params(self) -> list[dict[str, str]]:
        return self._params_of("/v1/forecast")

    @property
    def geocoding_params(self) -> list[dict[str, str]]:
        return self._params_of("/v1/search")

    @property
    def forecast_requests(self) -> int:
        return len(self.forecast_params)

    @property
    def geocoding_requests(self) -> int:
        return len(self.geocoding_params)

    def reset(self) -> None:
        """Forget requests, faults, forced weather and added places; wake any hanging request."""
        with self._lock:
            self.requests.clear()
            self._overrides.clear()
            self._places = [dict(p) for p in GAZETTEER]
            self._fail.clear()
            self._malformed = 0
            self._hang = 0.0
            self._wake.set()
            self._wake = threading.Event()

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` requests (any endpoint) with HTTP `status`."""
        with self._lock:
            self._fail.extend([status] * n)

    def malformed_next(self, n: int = 1) -> None:
        """Answer the next `n` requests with HTTP 200 and truncated JSON."""
        with self._lock:
            self._malformed += n

    def hang(self, seconds: float) -> None:
        """Sleep `seconds` before answering every request from now on (0 to stop); `reset()` wakes them."""
        with self._lock:
            self._hang = seconds

    def add_place(
        self,
        name: str,
        latitude: float,
        longitude: float,
        *,
        timezone: str,
        country_code: str,
        country: str,
        admin1: str | None = None,
        population: int = 0,
        elevation: float = 0.0,
        feature_code: str = "PPL",
    ) -> None:
        with self._lock:
            place = _place(
                9_000_000 + len(self._places),
                name,
                latitude,
                longitude,
                elevation,
                feature_code,
                country_code,
                country,
                admin1 or "",
                timezone,
                population,
            )
            if admin1 is None:
                del place["admin1"]
            self._places.append(place)

    def set_weather(
        self,
        latitude: float,
        longitude: float,
        *,
        code: int | None = _UNSET,
        temperature: float | None = _UNSET,
        precipitation_probability: int | None = _UNSET,
        at: datetime | None = None,
    ) -> None:
        """Force values (None: JSON null) at this point (to 0.01°), in the hour containing `at` or all."""
        values = {
            k: v
            for k, v in (
                ("weather_code", code),
                ("temperature_2m", temperature),
                ("precipitation_probability", precipitation_probability),
            )
            if v is not _UNSET
        }
        hour = None if at is None else at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        with self._lock:
            self._overrides.setdefault((round(latitude, 2), round(longitude, 2)), []).append(
                _Override(hour, values)
            )

    # --- serving -----------------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        params = {k: str(v) for k, v in request.params.items()}
        with self._lock:
            self.requests.append(RecordedRequest(request.path, params, dict(request.headers)))
            hang, wake = self._hang, self._wake
            fail = self._fail.pop(0) if self._fail else None
            malformed = self._malformed > 0 and fail is None
            if malformed:
                self._malformed -= 1
        if hang:
            wake.wait(hang)
        if fail is not None:
            return _failure(fail)
        if malformed:
            return Response(200, MALFORMED)
        try:
            if request.method != "GET":
                return Response(405, {"error": True, "reason": "Method Not Allowed"})
            if request.path == "/v1/forecast":
                return Response(200, self._forecast(params))
            if request.path == "/v1/search":
                return Response(200, self._search(params))
            return Response(404, {"error": True, "reason": "Not Found"})
        except _BadRequest as exc:
            return Response(400, {"error": True, "reason": str(exc)})

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        started = time.perf_counter()
        if "name" not in params:
            raise _BadRequest("Parameter 'name' is required")
        count = _int_param(params, "count", 10)
        if not 1 <= count <= 100:
            raise _BadRequest("Parameter 'count' must be between 1 and 100")
        if params.get("format", "json") != "json":
            raise _BadRequest("Only format 'json' is supported by this fake")
        name, _, qualifier = params["name"].partition(",")
        name, qualifier = name.strip().casefold(), qualifier.strip().casefold()
        with self._lock:
            places = list(self._places)

        def matches(place: dict[str, Any]) -> bool:
            candidate = place["name"].casefold()
            # like the real one: 1 character finds nothing, 2 only exact names, 3 and more prefixes
            found = candidate == name if len(name) == 2 else len(name) > 2 and candidate.startswith(name)
            if found and qualifier:
                found = qualifier in {
                    str(place.get(k, "")).casefold() for k in ("country", "country_code", "admin1")
                }
            return found

        results = sorted(filter(matches, places), key=lambda p: -int(p.get("population", 0)))[:count]
        answer: dict[str, Any] = {}
        if results:
            answer["results"] = results
        answer["generationtime_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return answer

    def _forecast(self, params: dict[str, str]) -> dict[str, Any]:
        started = time.perf_counter()
        if "latitude" not in params or "longitude" not in params:
            missing = "latitude" if "latitude" not in params else "longitude"
            raise _BadRequest(f"Value of type 'Float' required for key '{missing}'.")
        lat, lon = _float_param(params, "latitude"), _float_param(params, "longitude")
        if not -90 <= lat <= 90:
            raise _BadRequest(f"Latitude must be in range of -90 to 90°. Given: {lat}.")
        if not -180 <= lon <= 180:
            raise _BadRequest(f"Longitude must be in range of -180 to 180°. Given: {lon}.")
        days = _int_param(params, "forecast_days", 7)
        if not 0 <= days <= MAX_FORECAST_DAYS:
            raise _BadRequest(f"Forecast days is invalid. Allowed range 0 to 16. Given {days}.")
        past_days = _int_param(params, "past_days", 0)
        if not 0 <= past_days <= 92:
            raise _BadRequest(f"Past days is invalid. Allowed range 0 to 92. Given {past_days}.")
        hourly = _variables(params, "hourly", HOURLY_UNITS)
        daily = _variables(params, "daily", DAILY_UNITS)
        current = _variables(params, "current", CURRENT_UNITS)
        tz_name = params.get("timezone", "GMT")
        if tz_name in ("UTC", "GMT", "auto", ""):
            tz_name, offset, abbreviation = "GMT", timedelta(0), "GMT"
        else:
            try:
                zone = ZoneInfo(tz_name)
            except (ZoneInfoNotFoundError, ValueError):
                raise _BadRequest("Invalid timezone") from None
            local_now = self._now().astimezone(zone)
            offset, abbreviation = local_now.utcoffset() or timedelta(0), local_now.tzname() or tz_name
        unixtime = params.get("timeformat", "iso8601") == "unixtime"

        def stamp(local: datetime) -> str | int:
            return (
                int((local - offset).replace(tzinfo=UTC).timestamp())
                if unixtime
                else f"{local:%Y-%m-%dT%H:%M}"
            )

        now = self._now().astimezone(UTC)
        start = (now + offset).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        start -= timedelta(days=past_days)
        local_hours = [start + timedelta(hours=i) for i in range(24 * (days + past_days))]
        weather = [self._weather(lat, lon, (t - offset).replace(tzinfo=UTC)) for t in local_hours]

        answer: dict[str, Any] = {
            "latitude": round(round(lat / _GRID) * _GRID, 6),
            "longitude": round(round(lon / _GRID) * _GRID, 6),
            "generationtime_ms": 0.0,
            "utc_offset_seconds": int(offset.total_seconds()),
            "timezone": tz_name,
            "timezone_abbreviation": abbreviation,
            "elevation": 38.0,
        }
        if current:
            quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
            values = self._weather(lat, lon, quarter.replace(minute=0))
            answer["current_units"] = {"time": "unixtime" if unixtime else "iso8601", "interval": "seconds"}
            answer["current_units"] |= {v: CURRENT_UNITS[v] for v in current}
            answer["current"] = {"time": stamp((quarter + offset).replace(tzinfo=None)), "interval": 900}
            answer["current"] |= {v: values[v] for v in current}
        if hourly:
            answer["hourly_units"] = {"time": "unixtime" if unixtime else "iso8601"}
            answer["hourly_units"] |= {v: HOURLY_UNITS[v] for v in hourly}
            answer["hourly"] = {"time": [stamp(t) for t in local_hours]}
            answer["hourly"] |= {v: [w[v] for w in weather] for v in hourly}
        if daily:
            by_day: dict[date, list[dict[str, Any]]] = {}
            for t, w in zip(local_hours, weather, strict=True):
                by_day.setdefault(t.date(), []).append(w)
            answer["daily_units"] = {"time": "unixtime" if unixtime else "iso8601"}
            answer["daily_units"] |= {v: DAILY_UNITS[v] for v in daily}
            answer["daily"] = {
                "time": [
                    stamp(datetime.combine(d, datetime.min.time())) if unixtime else d.isoformat()
                    for d in by_day
                ]
            }
            answer["daily"] |= {v: [_aggregate(v, ws) for ws in by_day.values()] for v in daily}
        answer["generationtime_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return answer

    def _weather(self, lat: float, lon: float, hour: datetime) -> dict[str, Any]:
        """The made-up weather at (lat, lon) in the UTC hour `hour`, with any forced values applied."""
        lat, lon = round(lat, 2), round(lon, 2)
        r_temp, _, r_rain = _hash_unit(f"{lat:.2f}", f"{lon:.2f}", f"{hour:%Y-%m-%dT%H}")
        # the sky changes in 6-hour spells, so that days aren't all showers
        _, r_sky, _ = _hash_unit(f"{lat:.2f}", f"{lon:.2f}", f"{hour:%Y-%m-%d}", hour.hour // 6)
        solar_hour = (hour.hour + lon / 15) % 24
        temperature = round(27 - 0.45 * abs(lat) + 5 * math.sin((solar_hour - 9) / 24 * 2 * math.pi), 1)
        temperature = round(temperature + (r_temp - 0.5) * 4, 1)
        code = _pick_code(r_sky, temperature)
        if code <= 3:
            probability = int(r_rain * 10 * (code + 1))
        elif code < 50:
            probability = int(10 + r_rain * 20)
        else:
            probability = int(55 + r_rain * 45)
        values: dict[str, Any] = {
            "temperature_2m": temperature,
            "precipitation_probability": probability,
            "weather_code": code,
        }
        with self._lock:
            overrides = list(self._overrides.get((lat, lon), ()))
        for override in overrides:
            if override.at is None or override.at == hour:
                values |= override.values
        return values


_SKY = ((0.3, 0), (0.45, 1), (0.6, 2), (0.75, 3), (0.8, 45), (0.84, 51), (0.9, 61), (0.93, 63), (0.96, 80))


def _pick_code(r: float, temperature: float) -> int:
    for threshold, code in _SKY:
        if r < threshold:
            if temperature < 0 and code in (51, 61, 63, 80):
                return {51: 77, 61: 71, 63: 73, 80: 85}[code]
            return code
    return 95 if temperature > 10 else 3


def _aggregate(variable: str, hours: list[dict[str, Any]]) -> Any:
    source = {
        "weather_code": "weather_code",
        "temperature_2m_max": "temperature_2m",
        "temperature_2m_min": "temperature_2m",
        "precipitation_probability_max": "precipitation_probability",
    }[variable]
    values = [h[source] for h in hours if h[source] is not None]
    if not values:
        return None
    # Open-Meteo's daily weather_code is the day's most severe, which the WMO numbering orders
    return min(values) if variable == "temperature_2m_min" else max(values)


def _failure(status: int) -> Response:
    if status >= 500:  # what the proxy in front of the API sends, not JSON
        page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        return Response(status, page.encode(), {"Content-Type": "text/html"})
    if status == 429:
        reason = "Minutely API request limit exceeded. Please try again in one minute."
        return Response(429, {"error": True, "reason": reason})
    return Response(status, {"error": True, "reason": f"Injected failure {status}"})
