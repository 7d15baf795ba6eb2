"""Places and weather end to end: /city, a shared location, /weather, task places, and one forecast request
shared by many reminders. Real bot ↔ real HTTP ↔ FakeTelegram and FakeOpenMeteo, real SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.places import PlaceService, Spot
from storage.engine import make_engine, make_sessionmaker
from tests.dbutil import temp_sqlite_url
from tests.e2e.conftest import add_tasks, db_state
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.telegram_api import FakeTelegram
from weather import WeatherClient

if TYPE_CHECKING:
    from tests.e2e.weather_fixtures import Inbox, TaskDB

pytest_plugins = ["tests.e2e.weather_fixtures"]

CHAT = 100
BERLIN = (52.52437, 13.41053)
MADRID = (40.4165, -3.70256)
PARIS_FR = (48.85341, 2.3488)
PARIS_TX = (33.66094, -95.55551)
CREDIT = "Weather data by Open-Meteo.com (CC BY 4.0)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def settings_lines(text: str) -> dict[str, str]:
    """/settings as {label: value}."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


# --- /city -------------------------------------------------------------------------------------------------


async def test_city_sets_the_best_match_and_its_zone_and_offers_the_others(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB
) -> None:
    reply = await fake.ask(CHAT, "/city Paris")

    lines = reply.text.splitlines()
    assert lines[0] == "📍 Place set to Paris, Île-de-France, France."
    assert lines[1].startswith("🌍 Time zone: Europe/Paris (now ")
    assert lines[-1] == "Not the one you meant? Pick another:"
    assert reply.button_texts == ["Paris, Texas, United States"]
    chat = await tasks_db.chat(CHAT)
    assert chat is not None
    assert (chat.place_name, chat.latitude, chat.longitude, chat.timezone) == (
        "Paris, Île-de-France, France",
        *PARIS_FR,
        "Europe/Paris",
    )
    shown = settings_lines((await fake.ask(CHAT, "/settings")).text)
    assert shown["Place for forecasts"] == "Paris, Île-de-France, France"
    assert shown["Time zone"].startswith("Europe/Paris (now ")
    assert "time zone is Europe/Paris" in (await fake.ask(CHAT, "/tz")).text

    # the other Paris, by its button
    answer = await fake.press(CHAT, reply.message_id, reply.callback_data("Paris, Texas"))

    assert answer.text == "Place set to Paris, Texas, United States"
    edited = fake.message(CHAT, reply.message_id)
    assert edited.edits == 1
    assert edited.text.splitlines()[0] == "📍 Place set to Paris, Texas, United States."
    assert edited.text.splitlines()[1].startswith("🌍 Time zone: America/Chicago (now ")
    chat = await tasks_db.chat(CHAT)
    assert chat is not None
    assert (chat.place_name, chat.latitude, chat.longitude, chat.timezone) == (
        "Paris, Texas, United States",
        *PARIS_TX,
        "America/Chicago",
    )
    shown = settings_lines((await fake.ask(CHAT, "/settings")).text)
    assert shown["Place for forecasts"] == "Paris, Texas, United States"
    assert shown["Time zone"].startswith("America/Chicago (now ")


async def test_three_springfields_give_two_alternative_buttons(fake: FakeTelegram, weather_bot: Any) -> None:
    reply = await fake.ask(CHAT, "/city Springfield")
    assert reply.text.startswith("📍 Place set to Springfield, Missouri, United States.")
    assert "America/Chicago" in reply.text
    assert reply.button_texts == [
        "Springfield, Massachusetts, United States",
        "Springfield, Illinois, United States",
    ]
    answer = await fake.press(CHAT, reply.message_id, reply.callback_data("Massachusetts"))
    assert answer.text == "Place set to Springfield, Massachusetts, United States"
    assert "America/New_York" in fake.message(CHAT, reply.message_id).text


async def test_an_unknown_place_or_a_weather_service_down_changes_nothing(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, db_url: str
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    before = await db_state(db_url)

    reply = await fake.ask(CHAT, "/city Atlantis")
    assert reply.text == (
        "⚠️ I found no place called “Atlantis”. Try a city name such as Berlin or Paris, Texas."
    )
    assert reply.button_texts == []
    assert await db_state(db_url) == before

    meteo.fail_next(10, 500)
    reply = await fake.ask(CHAT, "/city Madrid")
    assert reply.text == "⚠️ The weather service is not answering right now; please try again in a minute."
    assert await db_state(db_url) == before
    shown = settings_lines((await fake.ask(CHAT, "/settings")).text)
    assert shown["Place for forecasts"] == "Berlin, Germany"
    assert shown["Time zone"].startswith("Europe/Berlin (now ")


async def test_a_shared_location_becomes_the_chats_place_and_the_zone_stays(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, tasks_db: TaskDB
) -> None:
    await fake.ask(CHAT, "/tz Asia/Tokyo")
    before = len(fake.messages(CHAT))
    fake.send_location(CHAT, 48.13743, 11.57549)
    reply = await fake.wait_for_message(CHAT, after=before)

    assert (
        reply.text
        == "📍 Place set to your shared location (48.137, 11.575). Reminders will carry its forecast."
    )
    shown = settings_lines((await fake.ask(CHAT, "/settings")).text)
    assert shown["Place for forecasts"] == "shared location (48.137, 11.575)"
    assert shown["Time zone"].startswith("Asia/Tokyo (now ")
    chat = await tasks_db.chat(CHAT)
    assert chat is not None
    assert (chat.latitude, chat.longitude, chat.timezone) == (48.13743, 11.57549, "Asia/Tokyo")
    # /weather now forecasts there
    meteo.set_weather(48.13743, 11.57549, code=3, temperature=4.2, precipitation_probability=20)
    weather = await fake.ask(CHAT, "/weather")
    assert weather.text.splitlines()[:2] == [
        "🌤 Weather for shared location (48.137, 11.575)",
        "Now: ☁️ Overcast, 4 °C",
    ]
    assert (meteo.forecast_params[-1]["latitude"], meteo.forecast_params[-1]["longitude"]) == (
        "48.14",
        "11.58",
    )


# --- /weather ----------------------------------------------------------------------------------------------


def expected_weather(name: str, zone: str, now_line: str, hour_tail: str, day_tail: str) -> list[str]:
    """The /weather reply computed independently: now, every 3rd of the next 12 hours, 3 days, the credit."""
    tz = ZoneInfo(zone)
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = [(next_hour + timedelta(hours=3 * i)).astimezone(tz) for i in range(4)]
    today = now.astimezone(tz).date()
    days: list[date] = [today + timedelta(days=i) for i in range(3)]
    return [
        f"🌤 Weather for {name}",
        now_line,
        "",
        *[f"{h:%H:%M} {hour_tail}" for h in hours],
        "",
        *[f"{WEEKDAYS[d.weekday()]} {d.day}: {day_tail}" for d in days],
        "",
        CREDIT,
    ]


async def test_weather_for_the_chats_place_and_for_a_named_one(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    meteo.set_weather(*BERLIN, code=61, temperature=12.3, precipitation_probability=80)
    meteo.set_weather(*MADRID, code=0, temperature=25.0, precipitation_probability=0)

    here = await fake.ask(CHAT, "/weather")
    assert here.text.splitlines() == expected_weather(
        "Berlin, Germany",
        "Europe/Berlin",
        "Now: 🌦️ Slight rain, 12 °C",
        "🌦️ 12 °C, 80% 💧",
        "🌦️ Slight rain, 12…12 °C, 80% 💧",
    )
    assert any(e["type"] == "italic" for e in here.entities)  # the credit

    there = await fake.ask(CHAT, "/weather Madrid")
    assert there.text.splitlines() == expected_weather(
        "Madrid, Spain",
        "Europe/Madrid",
        "Now: ☀️ Clear sky, 25 °C",
        "☀️ 25 °C, 0% 💧",
        "☀️ Clear sky, 25…25 °C, 0% 💧",
    )
    assert "Open-Meteo" in there.text and "CC BY 4.0" in there.text
    # /weather Madrid did not change the chat's place
    assert "Berlin, Germany" in (await fake.ask(CHAT, "/settings")).text


async def test_weather_without_a_place_says_how_to_set_one(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any
) -> None:
    reply = await fake.ask(CHAT, "/weather")
    assert reply.text == "⚠️ No place set for this chat. Use /city Berlin, or ask /weather Berlin."
    assert meteo.requests == []


# --- task places -------------------------------------------------------------------------------------------


async def test_a_tasks_place_is_geocoded_when_added(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB
) -> None:
    reply = await fake.ask(CHAT, "/add Tapas night | in 1 hour | Madrid")
    assert "📍 Madrid, Spain" in reply.text
    task = await tasks_db.task(CHAT, 1)
    assert (task.place, task.place_latitude, task.place_longitude, task.place_timezone) == (
        "Madrid, Spain",
        *MADRID,
        "Europe/Madrid",
    )

    reply = await fake.ask(CHAT, "/add Dive | in 1 hour | Atlantis")
    assert "📍 Atlantis (not found: reminders use the chat's place)" in reply.text
    task = await tasks_db.task(CHAT, 2)
    assert (task.place_latitude, task.place_longitude) == (None, None)


# --- one forecast request for many reminders ---------------------------------------------------------------


async def test_500_reminders_at_one_place_in_one_hour_make_one_forecast_request(
    meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    meteo.set_weather(*BERLIN, code=2, temperature=18.0, precipitation_probability=30)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    berlin = Spot("Berlin, Germany", *BERLIN)
    async with temp_sqlite_url(tmp_path) as url:
        engine = make_engine(url)
        try:
            async with WeatherClient(
                forecast_url=meteo.forecast_url, geocoding_url=meteo.geocoding_url
            ) as client:
                places = PlaceService(make_sessionmaker(engine), client)
                results = await asyncio.gather(
                    *(
                        places.for_reminder(berlin, start + timedelta(seconds=7 * i), budget=1.0)
                        for i in range(500)
                    )
                )
        finally:
            await engine.dispose()

    assert meteo.forecast_requests == 1
    assert len(results) == 500
    assert all(r.reason is None and r.spot == berlin for r in results)
    assert {
        (r.hour.description, r.hour.temperature_c, r.hour.precipitation_probability)
        for r in results
        if r.hour
    } == {("Partly cloudy", 18.0, 30)}
    assert {r.hour.time for r in results if r.hour} == {start}  # all in that one hour


async def test_five_reminders_at_one_place_at_once_make_one_forecast_request(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    meteo.set_weather(*BERLIN, code=45, temperature=7.0, precipitation_probability=15)
    await add_tasks(fake, CHAT, *(f"Errand {n} | in 1s" for n in range(1, 6)))

    reminders = [(await inbox.wait(CHAT, n))[0] for n in range(1, 6)]

    assert all(
        m.text.splitlines()[-1] == "📍 Berlin, Germany: 🌫️ Fog, 7 °C, 15% chance of precipitation"
        for m in reminders
    )
    assert meteo.forecast_requests == 1


async def test_city_moves_recurring_tasks_to_the_same_local_time_in_the_new_zone(
    fake: FakeTelegram, weather_bot: Any
) -> None:
    await fake.ask(CHAT, "/add Standup | every day 9:00")
    await fake.ask(CHAT, "/city Tokyo")
    listing = await fake.ask(CHAT, "/list")
    assert "(Asia/Tokyo)" in listing.text
    assert "09:00 🔁" in listing.text


async def test_city_with_a_zone_we_do_not_know_keeps_the_chats_zone(
    fake: FakeTelegram, weather_bot: Any, meteo: FakeOpenMeteo
) -> None:
    meteo.add_place("Nowhereville", 10.0, 10.0, timezone="Mars/Olympus", country_code="XX", country="Mars")
    await fake.ask(CHAT, "/tz Europe/Berlin")
    reply = await fake.ask(CHAT, "/city Nowhereville")
    assert reply.text.startswith("📍 Place set to Nowhereville")
    assert "Time zone" not in reply.text
    assert "Europe/Berlin" in (await fake.ask(CHAT, "/tz")).text
