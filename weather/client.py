"""Async Open-Meteo client: geocoding and forecasts, cached, single-flight, with bounded retries.

Failure policy: every failure surfaces as `WeatherUnavailable`, and `timeout` bounds a whole call, retries
included, because a reminder would rather go out without the weather than late. Hence retries (at most
`retries`, with a short backoff) only for failures that come back fast: connection errors and HTTP 500,
502, 503, 504. A timeout is not retried: it has already spent the budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
import pydantic

from weather.cache import FetchAborted, TTLCache
from weather.models import Forecast, HourForecast, Place, as_utc, parse_forecast, parse_places

log = logging.getLogger(__name__)

USER_AGENT = "Taskcast/0.1 (+https://github.com/taskcast)"
FORECAST_DAYS = 16
HOURLY_VARIABLES = "temperature_2m,precipitation_probability,weather_code"
DAILY_VARIABLES = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"
CURRENT_VARIABLES = "temperature_2m,weather_code"
MAX_GEOCODING_RESULTS = 100

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_RETRY_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError)  # fast failures of an idempotent GET
_BACKOFF = 0.05  # seconds before the first retry, doubled each time, with jitter

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class WeatherUnavailable(Exception):
    """No weather for now: Open-Meteo is unreachable, slow, refused the request or answered nonsense."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _grid(latitude: float, longitude: float) -> tuple[float, float]:
    """Coordinates rounded to 0.01° (≈1 km), the resolution at which forecasts are fetched and cached."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise WeatherUnavailable(f"invalid coordinates {latitude}, {longitude}")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise WeatherUnavailable(f"coordinates out of range: {latitude}, {longitude}")
    return round(latitude, 2) + 0.0, round(longitude, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


class WeatherClient:
    """Open-Meteo forecasts and geocoding. Use one per process; `aclose()` it (or `async with`).

    `forecast_url`/`geocoding_url` are the full endpoint URLs (…/v1/forecast, …/v1/search). The User-Agent
    goes with every request, also through a caller's `http`.
    """

    def __init__(
        self,
        *,
        forecast_url: str,
        geocoding_url: str,
        http: httpx.AsyncClient | None = None,
        timeout: float = 3.0,
        retries: int = 2,
        forecast_ttl: float = 1800,
        geocode_ttl: float = 7 * 86400,
        max_entries: int = 2048,
        max_forecasts: int = 256,
    ) -> None:
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be > 0 and retries >= 0")
        self._forecast_url = forecast_url
        self._geocoding_url = geocoding_url
        self._timeout = timeout
        self._retries = retries
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30),
            headers={"User-Agent": USER_AGENT},
        )
        # A 16-day hourly forecast is ~57 KiB in memory: 256 of them bound the cache to ~15 MiB.
        self._forecasts: TTLCache[tuple[float, float, datetime], Forecast] = TTLCache(
            ttl=forecast_ttl, max_entries=max_forecasts
        )
        self._places: TTLCache[tuple[str, int], list[Place]] = TTLCache(
            ttl=geocode_ttl, max_entries=max_entries
        )
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: fetches under way fail with WeatherUnavailable; the httpx client is closed if it is ours."""
        if self._closed:
            return
        self._closed = True
        await self._forecasts.aclose()
        await self._places.aclose()
        if self._owns_http:
            await self._http.aclose()

    async def geocode(self, name: str, *, count: int = 5) -> list[Place]:
        """Up to `count` (1..100) places called `name`, most relevant first; [] when nothing matches."""
        query = " ".join(name.split())
        if len(query) < 2:  # Open-Meteo answers nothing for these anyway
            return []
        count = max(1, min(count, MAX_GEOCODING_RESULTS))
        params = {"name": query, "count": str(count), "language": "en", "format": "json"}
        places = await self._cached(
            self._places,
            (query.casefold(), count),
            lambda: self._fetch(self._geocoding_url, params, parse_places),
        )
        return list(places)  # a copy: the cached list is shared

    async def forecast(self, latitude: float, longitude: float) -> Forecast:
        """The 16-day hourly forecast around (latitude, longitude), cached per ≈1 km and UTC hour."""
        lat, lon = _grid(latitude, longitude)
        hour = _utcnow().replace(minute=0, second=0, microsecond=0)
        params = {
            "latitude": f"{lat:.2f}",
            "longitude": f"{lon:.2f}",
            "hourly": HOURLY_VARIABLES,
            "daily": DAILY_VARIABLES,
            "current": CURRENT_VARIABLES,
            "timezone": "UTC",
            "forecast_days": str(FORECAST_DAYS),
        }
        return await self._cached(
            self._forecasts,
            (lat, lon, hour),
            lambda: self._fetch(self._forecast_url, params, parse_forecast),
        )

    async def forecast_at(self, latitude: float, longitude: float, when: datetime) -> HourForecast | None:
        """The forecast hour containing `when` (aware; ValueError if naive).

        None, without asking Open-Meteo, when `when` is outside today 00:00 UTC + 16 days.
        """
        when = as_utc(when)
        start = _utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        if not start <= when < start + timedelta(days=FORECAST_DAYS):
            return None
        return (await self.forecast(latitude, longitude)).at(when)

    async def _cached(self, cache: TTLCache[K, T], key: K, fetch: Callable[[], Awaitable[T]]) -> T:
        if self._closed:
            raise WeatherUnavailable("the weather client is closed")
        try:
            return await cache.get_or_fetch(key, fetch)
        except WeatherUnavailable as exc:
            # a fresh instance per waiter: one shared exception would grow a traceback per re-raise
            raise WeatherUnavailable(exc.reason) from exc.__cause__
        except FetchAborted:
            raise WeatherUnavailable("the weather client was closed") from None

    async def _fetch(self, url: str, params: dict[str, str], parse: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        attempt = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    response = await self._http.get(url, params=params, headers={"User-Agent": USER_AGENT})
                return _decode(response, parse)
            except _Retryable as exc:
                reason, cause = exc.reason, exc.__cause__
            except _RETRY_ERRORS as exc:
                reason, cause = f"cannot reach Open-Meteo ({type(exc).__name__})", exc
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise WeatherUnavailable(f"Open-Meteo did not answer within {self._timeout:g}s") from exc
            except WeatherUnavailable:
                raise
            except Exception as exc:  # the contract is WeatherUnavailable, whatever httpx or a bad URL raise
                raise WeatherUnavailable(f"cannot reach Open-Meteo ({type(exc).__name__})") from exc
            delay = _BACKOFF * 2**attempt * random.uniform(0.5, 1.0)
            if attempt >= self._retries or loop.time() + delay >= deadline:
                raise WeatherUnavailable(reason) from cause
            attempt += 1
            log.info("Open-Meteo: %s; retry %d/%d in %.2fs", reason, attempt, self._retries, delay)
            await asyncio.sleep(delay)


def _decode(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    status = response.status_code
    if status in _RETRY_STATUSES:
        raise _Retryable(f"Open-Meteo answered HTTP {status}")
    try:
        payload = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        what = f"HTTP {status}" if status != 200 else "malformed JSON"
        raise WeatherUnavailable(f"Open-Meteo answered {what}") from exc
    if isinstance(payload, dict) and payload.get("error") is True:  # {"error": true, "reason": "..."}
        reason = str(payload.get("reason") or "no reason given")[:200]
        raise WeatherUnavailable(f"Open-Meteo refused the request (HTTP {status}): {reason}")
    if status != 200:
        raise WeatherUnavailable(f"Open-Meteo answered HTTP {status}")
    try:
        return parse(payload)
    except (pydantic.ValidationError, ValueError, TypeError) as exc:
        raise WeatherUnavailable("Open-Meteo answered an unexpected shape") from exc
