"""Fixtures for end-to-end tests that need the weather: a FakeOpenMeteo and a bot pointed at it.

Load it in a test module with ``pytest_plugins = ["tests.e2e.weather_fixtures"]``.

- `open_meteo`: one FakeOpenMeteo for the whole session; `meteo`: the same, reset before and after the test.
- `start_weather_bot(**overrides)`: like `start_bot`, with WEATHER_API_URL and GEOCODING_API_URL at `meteo`.
- `weather_bot`: the bot running that way on a fresh database.

- `tasks_db`: the test's database read and changed directly, with typed columns on both backends.
- `inbox`: the reminders the bot sent, and waiting for them with their arrival time.

Test modules name this module in `pytest_plugins` and import nothing from it at run time (an import
before the plugin is registered would keep pytest from rewriting its asserts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repository
from storage.engine import make_engine, make_sessionmaker
from storage.models import Chat, Task
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.telegram_api import FakeTelegram, SentMessage

StartBot = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def start_weather_bot(start_bot: StartBot, meteo: FakeOpenMeteo) -> StartBot:
    """`async with start_weather_bot(**overrides) as app:` runs the bot against FakeTelegram and `meteo`."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[Any]:
        overrides.setdefault("weather_api_url", meteo.forecast_url)
        overrides.setdefault("geocoding_api_url", meteo.geocoding_url)
        return start_bot(**overrides)

    return start


@pytest.fixture
async def weather_bot(start_weather_bot: StartBot) -> AsyncIterator[Any]:
    """The real bot, polling the fake Telegram, forecasting from the fake Open-Meteo, on a fresh database."""
    async with start_weather_bot() as app:
        yield app


# --- the database, typed -----------------------------------------------------------------------------------


class TaskDB:
    """The bot's database read and changed behind its back, with typed columns on both backends
    (SQLite stores naive UTC text, PostgreSQL timestamptz; these helpers always deal in aware UTC)."""

    def __init__(self, db_url: str) -> None:
        self.url = db_url

    @asynccontextmanager
    async def _sessions(self) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
        engine = make_engine(self.url)
        try:
            yield make_sessionmaker(engine)
        finally:
            await engine.dispose()

    async def task(self, chat_id: int, number: int) -> Task:
        """The task as stored now (a detached ORM object)."""
        async with self._sessions() as sessions, sessions() as session:
            task = (
                await session.scalars(select(Task).where(Task.chat_id == chat_id, Task.number == number))
            ).one()
            session.expunge(task)
            return task

    async def wait_task(
        self, chat_id: int, number: int, check: Callable[[Task], bool], *, within: float = 5.0
    ) -> Task:
        """Poll the task until `check(task)` holds and return it; AssertionError (with its state) if never."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            task = await self.task(chat_id, number)
            if check(task):
                return task
            if loop.time() > deadline:
                state = {k: v for k, v in vars(task).items() if not k.startswith("_")}
                raise AssertionError(f"task #{number} of chat {chat_id} never got there: {state}")
            await asyncio.sleep(0.02)

    async def tasks(self, chat_id: int) -> list[Task]:
        """The chat's tasks by number."""
        async with self._sessions() as sessions, sessions() as session:
            found = list(
                await session.scalars(select(Task).where(Task.chat_id == chat_id).order_by(Task.number))
            )
            session.expunge_all()
            return found

    async def chat(self, chat_id: int) -> Chat | None:
        """The chat as stored now, or None."""
        async with self._sessions() as sessions, sessions() as session:
            chat = await session.get(Chat, chat_id)
            if chat is not None:
                session.expunge(chat)
            return chat

    async def set_task(self, chat_id: int, number: int, **values: Any) -> None:
        """UPDATE the task's columns (remind_at=..., due_at=...)."""
        async with self._sessions() as sessions, sessions.begin() as session:
            result = await session.execute(
                update(Task)
                .where(Task.chat_id == chat_id, Task.number == number)
                .values(**values)
                .returning(Task.id)
            )
            assert result.first() is not None, f"no task #{number} in chat {chat_id}"

    async def insert_tasks(
        self,
        tasks: Mapping[int, Sequence[str]],
        due_at: datetime,
        *,
        kind: str = "private",
        timezone: str = "UTC",
    ) -> None:
        """Create the chats if needed and add their tasks (chat id -> titles) due at `due_at`, with their
        reminders pending then, in one transaction."""
        async with self._sessions() as sessions, sessions.begin() as session:
            for chat_id, titles in tasks.items():
                await repository.ensure_chat(
                    session, chat_id=chat_id, kind=kind, title=None, timezone=timezone
                )
                for title in titles:
                    await repository.create_task(
                        session,
                        chat_id=chat_id,
                        title=title,
                        due_at=due_at,
                        rule=None,
                        place=None,
                        created_by=None,
                        now=due_at,
                    )


@pytest.fixture
def tasks_db(db_url: str) -> TaskDB:
    """The test's database (the one `start_bot` uses), typed; migrate it first (start the bot once)."""
    return TaskDB(db_url)


# --- reminders as the chat sees them -----------------------------------------------------------------------


class Inbox:
    """The reminders ("⏰ #N …") and missed-reminder summaries ("🕰 …") the bot sent to chats."""

    def __init__(self, fake: FakeTelegram) -> None:
        self._fake = fake

    def reminders(self, chat_id: int, number: int | None = None) -> list[SentMessage]:
        """The chat's reminders (of task #number), oldest first, each as it is now (edits applied)."""
        prefix = "⏰ #" if number is None else f"⏰ #{number} "
        return [m for m in self._fake.messages(chat_id) if m.text.startswith(prefix)]

    def summaries(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self._fake.messages(chat_id) if m.text.startswith("🕰 ")]

    async def wait(
        self, chat_id: int, number: int, *, count: int = 1, within: float = 5.0
    ) -> tuple[SentMessage, datetime]:
        """Wait for the `count`-th reminder of task #number; return it and when it was seen (UTC, ±10 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found = self.reminders(chat_id, number)
            if len(found) >= count:
                return found[count - 1], datetime.now(UTC)
            if loop.time() > deadline:
                texts = [m.text for m in self._fake.messages(chat_id)]
                raise AssertionError(f"no reminder #{count} of task #{number} in chat {chat_id}: {texts}")
            await asyncio.sleep(0.01)

    async def wait_summary(self, chat_id: int, *, within: float = 5.0) -> SentMessage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self.summaries(chat_id):
            if loop.time() > deadline:
                texts = [m.text for m in self._fake.messages(chat_id)]
                raise AssertionError(f"no summary in chat {chat_id}: {texts}")
            await asyncio.sleep(0.01)
        return self.summaries(chat_id)[0]


@pytest.fixture
def inbox(fake: FakeTelegram) -> Inbox:
    return Inbox(fake)
