"""Starting and stopping: the command menu, the Bot API call sequence, settings errors, signals, logging.

The subprocess tests run `python run_bot.py` exactly as a user would, from a directory of their own
(tmp_path, without `.env`), with an environment stripped of the parent's Taskcast settings.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.logs import RedactingFormatter
from tests.e2e.conftest import RUN_BOT, UNREACHABLE, clean_env, fetch
from tests.fakes.telegram_api import FakeTelegram

CHAT = 100
EXPECTED_COMMANDS = {"start", "help", "add", "list", "done", "reopen", "edit", "due", "delete", "tz"}
EXPECTED_COMMANDS |= {"settings", "cancel"}


# --- in process -------------------------------------------------------------------------------------------


async def test_startup_registers_the_command_menu_then_polls(fake: FakeTelegram, bot: Any) -> None:
    await fake.wait_for_call("getUpdates")
    names = [name for name, _ in fake.calls]
    assert names[0] == "getMe"
    assert names.index("setMyCommands") < names.index("getUpdates")
    assert names.index("deleteWebhook") < names.index("getUpdates")
    assert names.count("setMyCommands") == 1

    menu = {c["command"]: c["description"] for c in fake.commands}
    assert (EXPECTED_COMMANDS - {"start"}) <= set(menu)  # /start is Telegram's own button
    assert all(menu.values())
    # the bot knows who it is (needed for /cmd@taskcast_bot in groups)
    assert bot.bot.username == "taskcast_bot"
    reply = await fake.ask(CHAT, "/start")
    assert "Taskcast" in reply.text


async def test_the_token_is_redacted_from_every_log_line(
    fake: FakeTelegram, start_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.setFormatter(
        RedactingFormatter("%(levelname)s %(name)s: %(message)s", [fake.token])
    )  # the formatter configure_logging installs
    async with start_bot():
        await fake.ask(CHAT, "/add Secret plan | tomorrow 9am")
        await fake.ask(CHAT, "/list")
        fake.fail_next("sendMessage", error_code=400, description="Bad Request: boom", chat_id=CHAT)
        reply = await fake.ask(CHAT, "/list")  # an error with a traceback gets logged
        assert "Something went wrong" in reply.text
    assert caplog.records, "nothing was logged"
    assert any(r.exc_info for r in caplog.records)
    formatted = caplog.text
    assert "Traceback" in formatted
    assert fake.token not in formatted
    secret_part = fake.token.split(":", 1)[1]
    assert secret_part not in formatted
    # the bot's own loggers never put the token in a message in the first place
    own = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "core", "storage", "weather")]
    assert all(fake.token not in r.getMessage() for r in own)


# --- as a process -----------------------------------------------------------------------------------------


def run(tmp_path: Path, *args: str, timeout: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN_BOT), *args],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class BotProcess:
    """`python run_bot.py` running in `cwd`; its output goes to files (a DEBUG log would fill a pipe)."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self._out = (cwd / "stdout.txt").open("w")
        self._err = (cwd / "stderr.txt").open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_BOT)], cwd=cwd, env=clean_env(**env), stdout=self._out, stderr=self._err
        )

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def wait_for_polling(self, fake: FakeTelegram, timeout: float = 20) -> None:
        """Wait until the fake has seen the bot's first getUpdates."""
        deadline = time.monotonic() + timeout
        while not fake.calls_to("getUpdates"):
            if self.process.poll() is not None:
                raise AssertionError(f"the bot exited with {self.returncode}: {self.output()[1]}")
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not start polling")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[str, str]:
        """Send `sig`, wait for the exit, and return (stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the bot did not stop on signal {sig}") from None
        finally:
            self._out.close()
            self._err.close()
        return self.output()

    def output(self) -> tuple[str, str]:
        return (self.cwd / "stdout.txt").read_text(), (self.cwd / "stderr.txt").read_text()


def fake_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "WEATHER_API_URL": UNREACHABLE,
        "GEOCODING_API_URL": UNREACHABLE,
        **extra,
    }


BAD_SETTINGS = [
    ({}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": "no colon here"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE"),
    # tz database files that ZoneInfo loads but that are no zones the bot accepts (/tz rejects them too)
    ({"TELEGRAM_BOT_TOKEN": "1:x", "DEFAULT_TIMEZONE": "Factory"}, "DEFAULT_TIMEZONE"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "DEFAULT_TIMEZONE": "posixrules"}, "DEFAULT_TIMEZONE"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "DEFAULT_TIMEZONE": "localtime"}, "DEFAULT_TIMEZONE"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "ALLOWED_CHAT_IDS": "abc"}, "ALLOWED_CHAT_IDS"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
]


@pytest.mark.parametrize(("env", "name"), BAD_SETTINGS, ids=[f"{n}-{len(e)}" for e, n in BAD_SETTINGS])
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path, env: dict[str, str], name: str) -> None:
    result = run(tmp_path, **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert lines[0].startswith("taskcast: setting ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "taskcast.db").exists()  # nothing was started


def test_a_rejected_token_stops_with_exit_2(fake: FakeTelegram, tmp_path: Path) -> None:
    result = run(tmp_path, **fake_env(fake, TELEGRAM_BOT_TOKEN="999:wrong-token"))
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "TELEGRAM_BOT_TOKEN" in last and "rejected" in last
    assert "Traceback" not in result.stderr
    assert "wrong-token" not in result.stderr


def test_unreachable_telegram_stops_with_exit_2(tmp_path: Path) -> None:
    result = run(tmp_path, TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot")
    assert result.returncode == 2, result.stderr
    assert "TELEGRAM_API_BASE_URL" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_the_default_database_is_in_the_working_directory(
    fake: FakeTelegram, tmp_path: Path, sig: int
) -> None:
    bot = BotProcess(tmp_path, **fake_env(fake))  # DATABASE_URL unset
    try:
        bot.wait_for_polling(fake)
        fake.send_message(CHAT, "/add Made here")
        assert "Added #1 Made here" in fake.wait_for_message_sync(CHAT, timeout=10).text
    finally:
        _, err = bot.stop(sig)
    assert bot.returncode == 0, err
    assert "Traceback" not in err
    database = tmp_path / "taskcast.db"
    assert database.is_file()


async def test_the_default_database_holds_the_task(fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(tmp_path, **fake_env(fake))
    try:
        bot.wait_for_polling(fake)
        reply = await fake.ask(CHAT, "/add Stored in cwd", timeout=10)
        assert "Added #1" in reply.text
    finally:
        bot.stop()
    assert bot.returncode == 0
    rows = await fetch(f"sqlite+aiosqlite:///{tmp_path / 'taskcast.db'}", "SELECT title FROM tasks")
    assert rows == [("Stored in cwd",)]


def test_debug_logging_never_shows_the_token(fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(
        tmp_path, **fake_env(fake, LOG_LEVEL="DEBUG", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    try:
        bot.wait_for_polling(fake)
        fake.send_message(CHAT, "/add Secret | tomorrow 9am")
        assert "Added #1 Secret" in fake.wait_for_message_sync(CHAT, timeout=10).text
        fake.fail_next("sendMessage", error_code=400, description="Bad Request: boom", chat_id=CHAT)
        fake.send_message(CHAT, "/list")  # fails once: logged with a traceback
        assert "Something went wrong" in fake.wait_for_message_sync(CHAT, after=1, timeout=10).text
    finally:
        out, err = bot.stop()
    assert bot.returncode == 0, err
    assert " DEBUG " in err  # DEBUG really was on
    assert "handling an update failed" in err and "Traceback" in err
    assert fake.token not in err and fake.token not in out
    assert fake.token.split(":", 1)[1] not in err
    # the request URLs are either not logged (httpx is kept at WARNING) or logged redacted
    for line in err.splitlines():
        if "/bot" in line and "127.0.0.1" in line:
            assert "[REDACTED]" in line, line
