from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.open_meteo import FakeOpenMeteo
from weather import WeatherClient


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[FakeOpenMeteo]:
    with FakeOpenMeteo() as fake:
        yield fake


@pytest.fixture
def fake(_fake_server: FakeOpenMeteo) -> Iterator[FakeOpenMeteo]:
    _fake_server.reset()
    yield _fake_server
    _fake_server.reset()


@pytest.fixture
async def client(fake: FakeOpenMeteo) -> AsyncIterator[WeatherClient]:
    async with WeatherClient(
        forecast_url=fake.forecast_url, geocoding_url=fake.geocoding_url, timeout=1.0
    ) as weather:
        yield weather
