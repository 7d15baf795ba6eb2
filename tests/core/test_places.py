"""PlaceService.set_chat_place on a real SQLite database and the Open-Meteo fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.places import PlaceService
from storage import repository
from storage.engine import make_engine, make_sessionmaker, upgrade_database
from tests.dbutil import temp_sqlite_url
from tests.fakes.open_meteo import FakeOpenMeteo
from weather import WeatherClient

CHAT = 77


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated SQLite database holding one chat in Asia/Tokyo."""
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
        engine = make_engine(url)
        try:
            made = make_sessionmaker(engine)
            async with made.begin() as session:
                await repository.ensure_chat(
                    session, chat_id=CHAT, kind="private", title=None, timezone="Asia/Tokyo"
                )
            yield made
        finally:
            await engine.dispose()


@pytest.fixture
async def places(
    sessions: async_sessionmaker[AsyncSession], meteo: FakeOpenMeteo
) -> AsyncIterator[PlaceService]:
    async with WeatherClient(
        forecast_url=meteo.forecast_url, geocoding_url=meteo.geocoding_url, timeout=2.0
    ) as client:
        yield PlaceService(sessions, client)


async def chat_place(sessions: async_sessionmaker[AsyncSession]) -> tuple[str | None, str]:
    async with sessions() as session:
        chat = await repository.get_chat(session, chat_id=CHAT)
        assert chat is not None
        return chat.place_name, chat.timezone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Factory", "localtime"])
async def test_a_place_with_an_unknown_zone_keeps_the_chats_zone(
    places: PlaceService, sessions: async_sessionmaker[AsyncSession], meteo: FakeOpenMeteo, zone: str
) -> None:
    meteo.add_place("Zzyzxville", 35.14, -116.10, timezone=zone, country_code="US", country="United States")
    [place] = await places.find("Zzyzxville")
    await places.set_chat_place(CHAT, place)
    assert await chat_place(sessions) == ("Zzyzxville, United States", "Asia/Tokyo")


async def test_a_place_with_a_known_zone_sets_it(
    places: PlaceService, sessions: async_sessionmaker[AsyncSession], meteo: FakeOpenMeteo
) -> None:
    meteo.add_place(
        "Qwertzhausen", 52.5, 13.4, timezone="europe/berlin", country_code="DE", country="Germany"
    )
    [place] = await places.find("Qwertzhausen")
    await places.set_chat_place(CHAT, place)
    assert await chat_place(sessions) == ("Qwertzhausen, Germany", "Europe/Berlin")  # stored canonically
