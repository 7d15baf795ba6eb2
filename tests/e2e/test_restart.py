"""Reminders across a crash and a restart: the database is the source of truth, so nothing is lost and
nothing is sent twice; what fell due while the bot was down goes out late, or summarised when long past.

The crash runs `python run_bot.py` as a process and kills it with SIGKILL; the rest stop the in-process
bot (leaving `start_weather_bot`'s block) and start it again on the same database.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from tests.e2e.conftest import RUN_BOT, add_tasks, clean_env, when_text
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.telegram_api import FakeTelegram, SentMessage

if TYPE_CHECKING:
    from tests.e2e.weather_fixtures import Inbox, TaskDB

pytest_plugins = ["tests.e2e.weather_fixtures"]

CHAT = 100
OTHER_CHAT = 200
BERLIN = (52.52437, 13.41053)


def now_s() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def local(when: datetime, zone: str) -> datetime:
    return when.astimezone(ZoneInfo(zone))


# --- kill -9 -----------------------------------------------------------------------------------------------


class BotProcess:
    """`python run_bot.py` in `cwd`; output to `<name>.out`/`<name>.err` (a DEBUG log would fill a pipe)."""

    def __init__(self, cwd: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self._files: list[TextIO] = [(cwd / f"{name}.out").open("w"), (cwd / f"{name}.err").open("w")]
        self.stderr_path = cwd / f"{name}.err"
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_BOT)],
            cwd=cwd,
            env=clean_env(**env),
            stdout=self._files[0],
            stderr=self._files[1],
        )

    def wait_for_polling(self, fake: FakeTelegram, *, polls_before: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(fake.calls_to("getUpdates")) <= polls_before:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode}: {self.log()[-2000:]}"
                )
            assert time.monotonic() < deadline, f"{self.name} did not start polling"
            time.sleep(0.02)

    def log(self) -> str:
        for file in self._files:
            file.flush()
        return self.stderr_path.read_text()

    def end(self, sig: int) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        finally:
            for file in self._files:
                file.close()


def reminders_of(fake: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in fake.messages(chat_id) if m.text.startswith("⏰")]


def stored(db_file: Path, chat_id: int, number: int, column: str) -> datetime | None:
    """A time column of the task, read with sqlite3 (SQLite keeps naive UTC text)."""
    with sqlite3.connect(db_file) as connection:
        (value,) = connection.execute(
            f"SELECT {column} FROM tasks WHERE chat_id = ? AND number = ?", (chat_id, number)
        ).fetchone()
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_a_reminder_due_while_the_bot_was_killed_is_sent_once_after_the_restart(
    fake: FakeTelegram, meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    db_file = tmp_path / "taskcast.db"
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "WEATHER_API_URL": meteo.forecast_url,
        "GEOCODING_API_URL": meteo.geocoding_url,
        "LOG_LEVEL": "DEBUG",
    }
    first = BotProcess(tmp_path, "first", env)
    try:
        first.wait_for_polling(fake, polls_before=0)
        fake.send_message(CHAT, "/city Berlin")
        fake.wait_for_message_sync(CHAT, after=0)
        meteo.set_weather(*BERLIN, code=1, temperature=21.0, precipitation_probability=5)
        fake.send_message(CHAT, "/add Take the cake out | in 4s")
        added = fake.wait_for_message_sync(CHAT, after=1)
        assert "Added #1 Take the cake out" in added.text
        added_at = time.monotonic()
        due = stored(db_file, CHAT, 1, "remind_for")
        assert due is not None
        time.sleep(max(0.0, added_at + 1.0 - time.monotonic()))
    finally:
        assert first.end(signal.SIGKILL) == -signal.SIGKILL
    assert datetime.now(UTC) < due, "the bot was killed too late: the reminder was already due"
    assert reminders_of(fake, CHAT) == []

    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 0.3))  # the due time passes while down
    assert reminders_of(fake, CHAT) == []
    second = BotProcess(tmp_path, "second", env)
    try:
        second.wait_for_polling(fake, polls_before=len(fake.calls_to("getUpdates")))
        deadline = time.monotonic() + 10
        while not reminders_of(fake, CHAT):
            assert time.monotonic() < deadline, f"no reminder after the restart: {second.log()[-2000:]}"
            time.sleep(0.02)
        seen = datetime.now(UTC)
        time.sleep(2.5)  # two more dispatcher polls: a duplicate would show now

        [reminder] = reminders_of(fake, CHAT)
        assert 0 < (seen - due).total_seconds() < 60
        assert reminder.text.splitlines() == [
            "⏰ #1 Take the cake out",
            f"Due {when_text(local(due, 'Europe/Berlin'), 'Europe/Berlin')}",  # not marked late
            "📍 Berlin, Germany: 🌤️ Mainly clear, 21 °C, 5% chance of precipitation",
        ]
        assert stored(db_file, CHAT, 1, "remind_at") is None  # marked sent
    finally:
        assert second.end(signal.SIGTERM) == 0, second.log()[-2000:]


# --- missed while down -------------------------------------------------------------------------------------


async def test_a_reminder_missed_while_down_goes_out_once_marked_late(
    fake: FakeTelegram, start_weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    async with start_weather_bot():
        await fake.ask(CHAT, "/tz Europe/Berlin")
        await fake.ask(CHAT, "/add Call the dentist | tomorrow 9am")
    # while the bot is down, its due time comes and goes
    two_hours_ago = now_s() - timedelta(hours=2)
    await tasks_db.set_task(CHAT, 1, due_at=two_hours_ago, remind_at=two_hours_ago, remind_for=two_hours_ago)

    async with start_weather_bot():
        message, _ = await inbox.wait(CHAT, 1)
        due = local(two_hours_ago, "Europe/Berlin")
        assert message.text.splitlines()[:2] == [
            "⏰ #1 Call the dentist",
            f"Due {when_text(due, 'Europe/Berlin')} (late: was due {due:%H:%M})",
        ]
        assert message.button_texts == ["✅ Done", "💤 10 min", "💤 1 h", "💤 Tomorrow 9:00"]
        task = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)
        assert task.done is False
        await fake.expect_no_message(CHAT, within=1.2)
    assert len(inbox.reminders(CHAT)) == 1
    assert inbox.summaries(CHAT) == []


async def test_reminders_missed_for_longer_than_the_grace_period_come_as_one_summary_per_chat(
    fake: FakeTelegram, start_weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    titles = ["Pay the invoice", "Book the flights", "Renew the insurance"]
    async with start_weather_bot():
        await fake.ask(CHAT, "/tz Europe/Berlin")
        await add_tasks(fake, CHAT, *(f"{title} | tomorrow 9am" for title in titles))
        await fake.ask(OTHER_CHAT, "/add Water the garden | tomorrow 9am")
    three_days_ago = now_s() - timedelta(days=3)
    dues = [three_days_ago + timedelta(hours=n) for n in range(3)]
    for number, due in enumerate(dues, start=1):
        await tasks_db.set_task(CHAT, number, due_at=due, remind_at=due, remind_for=due)
    await tasks_db.set_task(OTHER_CHAT, 1, due_at=dues[0], remind_at=dues[0], remind_for=dues[0])

    async with start_weather_bot():
        summary = await inbox.wait_summary(CHAT)
        other = await inbox.wait_summary(OTHER_CHAT)
        for number in (1, 2, 3):
            await tasks_db.wait_task(CHAT, number, lambda t: t.remind_at is None)
        await fake.expect_no_message(CHAT, within=1.2)

    def short(when: datetime, zone: str) -> str:
        return when_text(local(when, zone), zone).rsplit(", ", 1)[0]

    assert summary.text.splitlines() == [
        "🕰 While I was away, 3 reminders fell due:",
        *[
            f"• #{n} {title} — was due {short(due, 'Europe/Berlin')}"
            for n, (title, due) in enumerate(zip(titles, dues, strict=True), start=1)
        ],
        "/list shows them; /done marks them done.",
    ]
    assert other.text.splitlines() == [
        "🕰 While I was away, 1 reminder fell due:",
        f"• #1 Water the garden — was due {short(dues[0], 'UTC')}",
        "/list shows them; /done marks them done.",
    ]
    assert [len(inbox.summaries(c)) for c in (CHAT, OTHER_CHAT)] == [1, 1]
    assert inbox.reminders(CHAT) == [] and inbox.reminders(OTHER_CHAT) == []
    assert [t.done for t in await tasks_db.tasks(CHAT)] == [False, False, False]  # still on the list
