"""Several real reminder dispatchers on one PostgreSQL database, each on its own connections, sending
through the fake Bot API: every due reminder is sent exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.dispatcher import ReminderDispatcher
from core import times
from core.places import PlaceService
from core.reminders import ReminderService
from storage import repository
from storage.engine import make_engine, make_sessionmaker, upgrade_database
from tests.dbutil import temp_database_url
from tests.fakes.telegram_api import FakeTelegram
from weather import WeatherClient

CHATS = [1000 + i for i in range(8)]


async def seed(url: str, n: int) -> None:
    """`n` tasks due a second ago, spread over a few chats."""
    engine = make_engine(url)
    now = times.utc_now()
    async with make_sessionmaker(engine).begin() as session:
        for chat_id in CHATS:
            await repository.ensure_chat(session, chat_id=chat_id, kind="private", title=None, timezone="UTC")
        for i in range(n):
            await repository.create_task(
                session,
                chat_id=CHATS[i % len(CHATS)],
                title=f"task {i}",
                due_at=now - timedelta(seconds=1),
                rule=None,
                place=None,
                created_by=None,
                now=now,
            )
    await engine.dispose()


async def run_dispatcher(url: str, fake: FakeTelegram) -> int:
    """One dispatcher with its own engine (its own connections) and its own Bot, until nothing is due."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    weather = WeatherClient(forecast_url="http://127.0.0.1:9/", geocoding_url="http://127.0.0.1:9/")
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        dispatcher = ReminderDispatcher(
            bot, ReminderService(sessions), PlaceService(sessions, weather), poll_seconds=1
        )
        sent = await dispatcher.dispatch_due()
    await weather.aclose()
    await engine.dispose()
    return sent


CASES = [("postgresql", n, k) for n in (1, 2, 64, 500) for k in (1, 2, 4, 16)]
# SQLite has one writer: BEGIN IMMEDIATE and the busy timeout serialise the claims.
CASES += [("sqlite", n, k) for n in (64, 200) for k in (2, 4)]


@pytest.mark.parametrize(("backend", "n", "k"), CASES)
async def test_concurrent_dispatchers_send_each_reminder_once(
    fake: FakeTelegram, tmp_path: Path, backend: str, n: int, k: int
) -> None:
    for chat_id in CHATS:
        fake.add_chat(chat_id)
    async with temp_database_url(backend, tmp_path) as url:
        await upgrade_database(url)
        await seed(url, n)
        counts = await asyncio.gather(*(run_dispatcher(url, fake) for _ in range(k)))

        sent_titles = [m.text.splitlines()[0] for chat in CHATS for m in fake.messages(chat)]
        expected = [f"⏰ #{(i // len(CHATS)) + 1} task {i}" for i in range(n)]
        assert sorted(sent_titles) == sorted(expected)
        assert not [t for t, c in Counter(sent_titles).items() if c > 1]
        assert sum(counts) == n
        assert len(fake.calls_to("sendMessage")) == n
