"""End-to-end harness: the REAL bot (PTB Application, handlers, services, database) against FakeTelegram.

The bot talks to the fake over real HTTP and keeps its data in a real database (a temp SQLite file, or a
temp PostgreSQL database for the tests parametrized with `db_backend`). Tests read like a chat:

    reply = await fake.ask(CHAT, "/add Buy milk | tomorrow 9am")
    assert "#1" in reply.text

Fixtures:
- `telegram`: one FakeTelegram for the whole session; `fake`: the same, reset for the test.
- `db_backend` ("sqlite" unless a test parametrizes it, see `BOTH_BACKENDS`) and `db_url`.
- `start_bot(**overrides)`: an async context manager running the bot with settings overridden
  (e.g. `allowed_chat_ids={1}`); `bot`: the bot running with the default test settings.
- `settings_for(**overrides)`: the Settings a bot under test gets, for subprocess-free reuse.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.runtime import running
from core.settings import Settings
from storage.engine import make_engine
from tests.dbutil import BACKENDS, temp_database_url
from tests.fakes.telegram_api import CallbackAnswer, FakeTelegram, SentMessage

ROOT = Path(__file__).resolve().parents[2]
RUN_BOT = ROOT / "run_bot.py"
BOT_USERNAME = "taskcast_bot"

# Run a test on SQLite and on PostgreSQL: `@BOTH_BACKENDS` above it (it must use the `bot`/`db_url` fixtures).
BOTH_BACKENDS = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)

# Nothing here may reach the internet: the weather services point at a closed local port.
UNREACHABLE = "http://127.0.0.1:9/"

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def setting_env_names() -> set[str]:
    """The environment variable names Settings reads (upper case)."""
    return {name.upper() for name in Settings.model_fields}


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any Taskcast setting, plus `extra` (for subprocess runs)."""
    names = setting_env_names()
    env = {
        k: v for k, v in os.environ.items() if k.upper() not in names and not k.upper().startswith("TELEGRAM")
    }
    env.update(extra)
    return env


def when_text(local: datetime, zone: str, *, year: int | None = None) -> str:
    """How the bot writes a due time in full ("Fri 15 Jan 2027 18:00, Europe/Berlin"), computed independently.

    The year is shown only when it differs from `year` (default: the current year in the zone).
    """
    this_year = year if year is not None else datetime.now(ZoneInfo(zone)).year
    shown_year = f" {local.year}" if local.year != this_year else ""
    clock = f"{local.hour:02d}:{local.minute:02d}" + (f":{local.second:02d}" if local.second else "")
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}{shown_year} {clock}, {zone}"


# --- the fake Telegram ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as started:
        yield started


@pytest.fixture
def fake(telegram: FakeTelegram) -> FakeTelegram:
    """The session's fake, with all state of earlier tests forgotten."""
    telegram.reset()
    return telegram


# --- databases --------------------------------------------------------------------------------------------


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend: sqlite, unless the test is parametrized with `BOTH_BACKENDS` (indirect)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def db_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with temp_database_url(db_backend, tmp_path) as url:
        yield url


async def fetch(db_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query against the bot's database (read by the test directly, not through the bot)."""
    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(sql), params)
            return [tuple(row) for row in result]
    finally:
        await engine.dispose()


async def db_state(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the bot stores, to compare before and after something that must change nothing."""
    return {
        "chats": await fetch(db_url, "SELECT * FROM chats ORDER BY id"),
        "tasks": await fetch(db_url, "SELECT * FROM tasks ORDER BY id"),
        "drafts": await fetch(db_url, "SELECT * FROM drafts ORDER BY chat_id, user_id"),
    }


# --- the bot ----------------------------------------------------------------------------------------------


@pytest.fixture
def settings_for(fake: FakeTelegram, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings for a bot under test: every field given explicitly, no `.env`, no leaking environment."""
    for name in setting_env_names():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": fake.token,
            "telegram_api_base_url": fake.base_url,
            "database_url": db_url,
            "weather_api_url": UNREACHABLE,
            "geocoding_api_url": UNREACHABLE,
            "default_timezone": "UTC",
            "allowed_chat_ids": frozenset(),
            "log_level": "DEBUG",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


StartBot = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def start_bot(settings_for: Callable[..., Settings]) -> StartBot:
    """`async with start_bot(allowed_chat_ids={1}) as app:` runs the real bot with those settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Any]:
        async with running(settings_for(**overrides), poll_timeout=1) as app:
            yield app

    return start


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[Any]:
    """The real bot, polling the fake, on a fresh database."""
    async with start_bot() as app:
        yield app


# --- conversational helpers -------------------------------------------------------------------------------


async def ask_group(
    fake: FakeTelegram, chat_id: int, text: str, *, user_id: int = 1001, **kwargs: Any
) -> SentMessage:
    """`fake.ask` in a group chat, as user `user_id`."""
    return await fake.ask(chat_id, text, chat_type="group", user_id=user_id, **kwargs)


async def add_tasks(fake: FakeTelegram, chat_id: int, *lines: str) -> list[SentMessage]:
    """Send several `/add` lines at once and return the bot's replies, in order (one chat is in order)."""
    before = len(fake.messages(chat_id))
    for line in lines:
        fake.send_message(chat_id, f"/add {line}")
    await fake.wait_for_message(chat_id, after=before + len(lines) - 1, timeout=5 + len(lines) * 0.2)
    return fake.messages(chat_id)[before:]


def task_lines(listing: str) -> list[str]:
    """The task lines of a /list reply (those naming a `#N`)."""
    return [line for line in listing.splitlines() if "#" in line and not line.startswith("📋")]


async def press_unchecked(
    fake: FakeTelegram, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
) -> CallbackAnswer:
    """Press a button with any (forged) callback data under one of the bot's messages; wait for the answer."""
    query_id = fake.press_button(chat_id, message_id, data, user_id=user_id, check=False)
    for _ in range(500):
        answer = next((a for a in fake.callback_answers if a.query_id == query_id), None)
        if answer is not None:
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError(f"the bot did not answer the forged callback {data!r}")


async def reply_starting(
    fake: FakeTelegram, chat_id: int, prefix: str, *, after: int, within: float = 5.0
) -> SentMessage:
    """The first of the bot's messages beyond the first `after` whose text starts with `prefix`.

    For replies that may be interleaved with a message the bot sends on its own (a reminder).
    """
    for _ in range(int(within / 0.01)):
        found = [m for m in fake.messages(chat_id)[after:] if m.text.startswith(prefix)]
        if found:
            return found[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no message starting {prefix!r}: {[m.text for m in fake.messages(chat_id)]}")
