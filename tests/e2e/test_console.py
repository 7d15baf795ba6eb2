"""`python run_bot.py --console`: the same Application and handlers, the terminal as the transport."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.conftest import RUN_BOT, clean_env, when_text


def console(tmp_path: Path, lines: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console in tmp_path, typing `lines` (stdin closes after them)."""
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    return subprocess.run(
        [sys.executable, str(RUN_BOT), "--console"],
        cwd=tmp_path,
        env=clean_env(**env),
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
    )


def bot_lines(stdout: str) -> list[str]:
    """The printed replies, one entry per message (continuation lines joined with newlines)."""
    replies: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("bot"):
            replies.append(line)
        elif line.startswith("     ") and replies:
            replies[-1] += "\n" + line.strip()
    return replies


def test_a_console_session(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        [
            "/add Buy milk | tomorrow 9am",
            "/list",
            "/add",
            "Call mom",
            "3",
            "/done 1",
            "/list all",
            "/add <b>x</b> & y",
            ":quit",
            "/add never read",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "you> " not in result.stdout  # stdin is not a terminal: no prompts in the output
    assert result.stdout.startswith("Taskcast console")

    replies = bot_lines(result.stdout)
    tomorrow = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    nine = when_text(tomorrow.replace(hour=9, minute=0, second=0), "UTC")
    assert replies[0] == f"bot> 📝 Added #1 Buy milk\n⏰ {nine}"
    assert replies[1].startswith("bot> 📋 1 open task")
    assert "#1 Buy milk — " in replies[1]
    assert replies[2] == "bot> 📝 What is the task? Send its title (or /cancel)."
    assert replies[3].startswith("bot> ⏰ When is Call mom due?")
    numbered = replies[3].splitlines()[-1]
    assert numbered.endswith("[2] Tomorrow 9:00  [3] No date")
    assert numbered.startswith(("[1] Today 18:00", "[1] Tomorrow 18:00"))
    # "3" pressed the third button: the question is edited into the added task, and the press answered
    assert replies[4] == "bot (edited)> 📝 Added #2 Call mom\n⏰ no date"
    assert replies[5] == "bot (notice)> Added"
    assert replies[6] == "bot> ✅ #1 Buy milk done."
    assert "#2 Call mom" in replies[7] and "✅ #1 Buy milk" in replies[7]
    assert replies[8].startswith("bot> 📝 Added #3 <b>x</b> & y")  # HTML shown as the user typed it
    assert len(replies) == 9  # nothing after :quit
    assert "never read" not in result.stdout


def test_the_console_ends_cleanly_at_eof_and_keeps_its_data(tmp_path: Path) -> None:
    first = console(tmp_path, ["/add Persisted", "/tz Europe/Berlin"])
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "bot> 📝 Added #1 Persisted" in first.stdout
    assert "Time zone set to Europe/Berlin" in first.stdout

    second = console(tmp_path, ["/list", "/settings", ":group", "/list", "/foo", "/foo@taskcast_bot"])
    assert second.returncode == 0, second.stderr
    replies = bot_lines(second.stdout)
    assert "#1 Persisted" in replies[0] and "(Europe/Berlin)" in replies[0]
    assert "Tasks: 1 open, 1 in all" in replies[1]
    assert "(now in the group chat)" in second.stdout
    assert "No open tasks" in replies[2]  # the group is another chat
    assert replies[3] == "bot> ⚠️ I don't know /foo. Send /help for the commands."  # only when addressed
    assert len(replies) == 4


def test_the_console_needs_no_token_but_checks_the_other_settings(tmp_path: Path) -> None:
    result = console(tmp_path, ["/help"], DEFAULT_TIMEZONE="Mars/Olympus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "DEFAULT_TIMEZONE" in result.stderr and "Traceback" not in result.stderr

    result = console(tmp_path, ["/help"])
    assert result.returncode == 0, result.stderr
    assert "/add Buy milk | tomorrow 9am" in result.stdout


def test_buttons_stay_pressable_under_a_later_message_without_buttons(tmp_path: Path) -> None:
    result = console(tmp_path, ["/add", "T", "blah", "3", "3"])
    assert result.returncode == 0, result.stderr
    replies = bot_lines(result.stdout)
    assert replies[1].splitlines()[-1].endswith("[3] No date")
    assert replies[2].startswith("bot> ⚠️ I couldn't read “blah” as a time")  # no buttons of its own
    # "3" still pressed the question's third button, which is still on screen above the error
    assert replies[3] == "bot (edited)> 📝 Added #1 T\n⏰ no date"
    assert replies[4] == "bot (notice)> Added"
    # the edit took the buttons off the question, so the next "3" is plain text again
    assert not replies[5].startswith("bot (edited)>") and "Added" not in replies[5]
    assert len(replies) == 6
