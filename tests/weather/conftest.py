from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.open_meteo import FakeOpenMeteo
from weather import WeatherClient


@pytest.fixture
def fake(meteo: FakeOpenMeteo) -> FakeOpenMeteo:
    """The Open-Meteo fake (tests/conftest.py), reset around each test."""
    return meteo


@pytest.fixture
async def client(fake: FakeOpenMeteo) -> AsyncIterator[WeatherClient]:
    async with WeatherClient(
        forecast_url=fake.forecast_url, geocoding_url=fake.geocoding_url, timeout=1.0
    ) as weather:
        yield weather
