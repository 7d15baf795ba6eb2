from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import weather
from tests.fakes.open_meteo import FakeOpenMeteo
from weather import FORECAST_DAYS, USER_AGENT, WeatherClient, WeatherUnavailable

BERLIN = (52.52437, 13.41053)


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(hours=3)


def _client(fake: FakeOpenMeteo, **kwargs: float) -> WeatherClient:
    return WeatherClient(forecast_url=fake.forecast_url, geocoding_url=fake.geocoding_url, **kwargs)  # type: ignore[arg-type]


# --- geocoding ---------------------------------------------------------------------------------------------


async def test_geocode_finds_a_place(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    [berlin] = await client.geocode("Berlin")
    assert (berlin.name, berlin.country_code, berlin.timezone) == ("Berlin", "DE", "Europe/Berlin")
    assert (berlin.latitude, berlin.longitude) == BERLIN
    assert berlin.label == "Berlin, Germany"
    assert fake.geocoding_params == [{"name": "Berlin", "count": "5", "language": "en", "format": "json"}]


async def test_geocode_ambiguous_name(client: WeatherClient) -> None:
    places = await client.geocode("Paris")
    assert [(p.label, p.timezone) for p in places] == [
        ("Paris, Île-de-France, France", "Europe/Paris"),
        ("Paris, Texas, United States", "America/Chicago"),
    ]
    [texan] = await client.geocode("Paris, Texas")
    assert texan.admin1 == "Texas"
    springfields = await client.geocode("springfield", count=2)
    assert len(springfields) == 2


async def test_geocode_nothing_found(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    assert await client.geocode("Xyzzyville") == []
    assert await client.geocode(" x ") == []  # too short: not even asked
    assert fake.geocoding_requests == 1


async def test_geocode_is_cached_by_normalised_name(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    first = await client.geocode("New York")
    first.clear()  # callers get copies; the cached list is untouched
    again = await client.geocode("  new   YORK ")
    assert [p.name for p in again] == ["New York"]
    assert fake.geocoding_requests == 1


async def test_added_places_are_found(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    fake.add_place("Taskville", 10.0, 20.0, timezone="Africa/Lagos", country_code="NG", country="Nigeria")
    [place] = await client.geocode("Taskville")
    assert place.label == "Taskville, Nigeria"


# --- forecasts ---------------------------------------------------------------------------------------------


async def test_forecast_shape_and_request(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    forecast = await client.forecast(*BERLIN)
    assert len(forecast.hours) == 24 * FORECAST_DAYS
    assert forecast.hours[0].time == _today()
    assert all(b.time - a.time == timedelta(hours=1) for a, b in itertools.pairwise(forecast.hours))
    assert [d.date for d in forecast.days] == [(_today() + timedelta(days=i)).date() for i in range(16)]
    assert forecast.current is not None and forecast.current.time.tzinfo is UTC
    [params] = fake.forecast_params
    assert params == {
        "latitude": "52.52",
        "longitude": "13.41",
        "hourly": "temperature_2m,precipitation_probability,weather_code",
        "daily": "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max",
        "current": "temperature_2m,weather_code",
        "timezone": "UTC",
        "forecast_days": "16",
    }


async def test_forecast_at_returns_the_forced_weather(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    when = _soon()
    fake.set_weather(*BERLIN, code=95, temperature=21.5, precipitation_probability=70, at=when)
    fake.set_weather(*BERLIN, temperature=None, at=when + timedelta(hours=1))
    hour = await client.forecast_at(*BERLIN, when)
    assert hour is not None
    assert hour.time == when.replace(minute=0, second=0, microsecond=0)
    assert (hour.temperature_c, hour.precipitation_probability, hour.weather_code) == (21.5, 70, 95)
    assert (hour.description, hour.emoji) == ("Thunderstorm", "⛈️")
    later = await client.forecast_at(*BERLIN, when + timedelta(hours=1))
    assert later is not None and later.temperature_c is None
    assert fake.forecast_requests == 1


async def test_beyond_the_horizon_is_none_without_a_request(
    client: WeatherClient, fake: FakeOpenMeteo
) -> None:
    assert await client.forecast_at(*BERLIN, _today() + timedelta(days=FORECAST_DAYS)) is None
    assert await client.forecast_at(*BERLIN, _today() - timedelta(seconds=1)) is None
    assert fake.forecast_requests == 0
    last = await client.forecast_at(*BERLIN, _today() + timedelta(days=FORECAST_DAYS, seconds=-1))
    assert last is not None and fake.forecast_requests == 1


async def test_naive_datetimes_are_refused(client: WeatherClient) -> None:
    with pytest.raises(ValueError):
        await client.forecast_at(*BERLIN, datetime.now())


async def test_bad_coordinates_fail_without_a_request(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    for lat, lon in ((float("nan"), 0.0), (91.0, 0.0), (0.0, -180.5)):
        with pytest.raises(WeatherUnavailable):
            await client.forecast(lat, lon)
    assert fake.forecast_requests == 0


# --- caching and single flight -----------------------------------------------------------------------------


async def test_500_concurrent_asks_cost_one_request(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    when = _soon()
    hours = await asyncio.gather(
        *(client.forecast_at(52.5201 + i % 3 * 1e-4, 13.41, when) for i in range(500))
    )
    assert len(set(hours)) == 1 and hours[0] is not None
    assert fake.forecast_requests == 1


async def test_a_failed_fetch_is_not_cached(fake: FakeOpenMeteo) -> None:
    fake.fail_next(1, status=500)
    async with _client(fake, retries=0) as client:
        results = await asyncio.gather(*(client.forecast(*BERLIN) for _ in range(50)), return_exceptions=True)
        assert all(isinstance(r, WeatherUnavailable) for r in results)
        assert fake.forecast_requests == 1
        assert len((await client.forecast(*BERLIN)).hours) == 24 * FORECAST_DAYS
        assert fake.forecast_requests == 2


async def test_forecasts_expire(fake: FakeOpenMeteo) -> None:
    async with _client(fake, forecast_ttl=0.05) as client:
        await client.forecast(*BERLIN)
        await client.forecast(*BERLIN)
        assert fake.forecast_requests == 1
        await asyncio.sleep(0.06)
        await client.forecast(*BERLIN)
        assert fake.forecast_requests == 2


async def test_cache_is_bounded(fake: FakeOpenMeteo) -> None:
    async with _client(fake, max_forecasts=1) as client:
        await client.forecast(*BERLIN)
        await client.forecast(48.85, 2.35)
        await client.forecast(*BERLIN)
        assert fake.forecast_requests == 3


async def test_a_cancelled_caller_does_not_poison_the_cache(
    client: WeatherClient, fake: FakeOpenMeteo
) -> None:
    fake.hang(0.2)
    patient = asyncio.create_task(client.forecast(*BERLIN))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client.forecast(*BERLIN)
    assert len((await patient).hours) == 24 * FORECAST_DAYS
    fake.hang(0)
    await client.forecast(*BERLIN)
    assert fake.forecast_requests == 1


# --- failures ----------------------------------------------------------------------------------------------


async def test_retries_a_server_error(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    fake.fail_next(1, status=500)
    assert (await client.forecast(*BERLIN)).hours
    assert fake.forecast_requests == 2


@pytest.mark.parametrize("retries", [0, 2])
async def test_gives_up_after_retries(fake: FakeOpenMeteo, retries: int) -> None:
    fake.fail_next(10, status=503)
    async with _client(fake, retries=retries) as client:
        with pytest.raises(WeatherUnavailable, match="HTTP 503"):
            await client.forecast(*BERLIN)
    assert fake.forecast_requests == retries + 1


@pytest.mark.parametrize(("status", "reason"), [(400, "Injected failure 400"), (429, "limit exceeded")])
async def test_client_errors_are_not_retried(
    client: WeatherClient, fake: FakeOpenMeteo, status: int, reason: str
) -> None:
    fake.fail_next(1, status=status)
    with pytest.raises(WeatherUnavailable, match=reason):
        await client.geocode("Berlin")
    assert fake.geocoding_requests == 1


async def test_error_answer_reason_is_reported(fake: FakeOpenMeteo) -> None:
    # a misconfigured URL: the forecast API gets a geocoding request, and says what is wrong with it
    async with WeatherClient(forecast_url=fake.forecast_url, geocoding_url=fake.forecast_url) as client:
        with pytest.raises(WeatherUnavailable) as caught:
            await client.geocode("Berlin")
    assert caught.value.reason == (
        "Open-Meteo refused the request (HTTP 400): Value of type 'Float' required for key 'latitude'."
    )


async def test_hang_times_out(fake: FakeOpenMeteo) -> None:
    fake.hang(2.0)
    async with _client(fake, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(WeatherUnavailable, match=r"did not answer within 0\.3s"):
            await client.forecast(*BERLIN)
        assert 0.25 < time.monotonic() - started < 0.6
    assert fake.forecast_requests == 1  # a timeout has spent the budget: no retry


async def test_malformed_json(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    fake.malformed_next(1)
    with pytest.raises(WeatherUnavailable, match="malformed JSON"):
        await client.forecast(*BERLIN)
    assert fake.forecast_requests == 1


async def test_wrong_shape(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    fake.set_weather(*BERLIN, temperature="warm")  # type: ignore[arg-type]
    with pytest.raises(WeatherUnavailable, match="unexpected shape"):
        await client.forecast(*BERLIN)


async def test_connection_refused_is_retried_then_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    caplog.set_level(logging.INFO, logger="weather.client")
    async with WeatherClient(forecast_url=f"{url}/v1/forecast", geocoding_url=f"{url}/v1/search") as client:
        with pytest.raises(WeatherUnavailable, match=r"cannot reach Open-Meteo \(ConnectError\)"):
            await client.forecast(*BERLIN)
    assert [r.getMessage().split("; ")[1][:9] for r in caplog.records] == ["retry 1/2", "retry 2/2"]


async def test_bad_url_is_unavailable_too() -> None:
    async with WeatherClient(forecast_url="ftp://nowhere/x", geocoding_url="http://") as client:
        with pytest.raises(WeatherUnavailable):
            await client.forecast(*BERLIN)
        with pytest.raises(WeatherUnavailable):
            await client.geocode("Berlin")


# --- the HTTP client ---------------------------------------------------------------------------------------


async def test_user_agent_is_sent(client: WeatherClient, fake: FakeOpenMeteo) -> None:
    await client.geocode("Tokyo")
    await client.forecast(35.69, 139.69)
    assert [r.headers["user-agent"] for r in fake.requests] == [USER_AGENT, USER_AGENT]


async def test_closes_only_its_own_http_client(fake: FakeOpenMeteo) -> None:
    own = _client(fake)
    await own.aclose()
    assert own._http.is_closed
    with pytest.raises(WeatherUnavailable, match="closed"):
        await own.geocode("Berlin")

    async with httpx.AsyncClient() as http:
        async with WeatherClient(
            forecast_url=fake.forecast_url, geocoding_url=fake.geocoding_url, http=http
        ) as shared:
            assert await shared.geocode("London")
        assert not http.is_closed
        assert fake.requests[-1].headers["user-agent"] == USER_AGENT


async def test_closing_aborts_a_fetch_under_way(fake: FakeOpenMeteo) -> None:
    fake.hang(1.0)
    client = _client(fake)
    pending = asyncio.create_task(client.forecast(*BERLIN))
    await asyncio.sleep(0.05)
    await client.aclose()
    with pytest.raises(WeatherUnavailable, match="closed"):
        await pending


def test_attribution() -> None:
    assert weather.ATTRIBUTION == "Weather data by Open-Meteo.com (CC BY 4.0)"
