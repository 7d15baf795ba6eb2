"""The commands of the README, end to end: real bot ↔ real HTTP ↔ FakeTelegram, real SQLite."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import (
    BOT_USERNAME,
    BOTH_BACKENDS,
    add_tasks,
    ask_group,
    fetch,
    reply_starting,
    task_lines,
    when_text,
)
from tests.fakes.telegram_api import FakeTelegram

CHAT = 100
GROUP = -100200
COMMANDS = ("add", "list", "done", "reopen", "edit", "due", "delete", "tz", "settings", "cancel", "help")


def line_of(listing: str, number: int) -> str:
    """The /list line of task #number."""
    found = [line for line in task_lines(listing) if f"#{number} " in line]
    assert len(found) == 1, f"#{number} should be on exactly one line of {listing!r}"
    return found[0]


# --- /start, /help --------------------------------------------------------------------------------------


async def test_start_and_help_list_every_command_with_an_example(fake: FakeTelegram, bot: Any) -> None:
    for command in ("/start", "/help"):
        reply = await fake.ask(CHAT, command)
        assert "Taskcast" in reply.text
        for name in COMMANDS:
            assert f"/{name} " in reply.text or f"/{name}\n" in reply.text, name
        # examples, shown as code
        assert "/add Buy milk | tomorrow 9am" in reply.text
        assert "/done 1 2 5" in reply.text
        assert "/tz Europe/Berlin" in reply.text
        assert any(e["type"] == "code" for e in reply.entities)


async def test_help_addressed_to_the_bot_in_a_group(fake: FakeTelegram, bot: Any) -> None:
    reply = await ask_group(fake, GROUP, f"/help@{BOT_USERNAME}")
    assert "/add Buy milk | tomorrow 9am" in reply.text
    assert reply.reply_to_message_id is not None  # groups get the command quoted
    # a command for another bot is not ours: /list@other_bot gets nothing, the next command does
    fake.send_message(GROUP, "/list@other_bot", chat_type="group", user_id=1001)
    reply = await ask_group(fake, GROUP, f"/settings@{BOT_USERNAME}")
    assert "Settings of this chat" in reply.text
    assert len(fake.messages(GROUP)) == 2


# --- /add -------------------------------------------------------------------------------------------------


async def test_add_title_only_when_and_place(fake: FakeTelegram, bot: Any) -> None:
    reply = await fake.ask(CHAT, "/add Buy milk")
    assert "Added #1 Buy milk" in reply.text
    assert "no date" in reply.text

    tomorrow = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    reply = await fake.ask(CHAT, "/add Call the bank | tomorrow 9am")
    assert "Added #2 Call the bank" in reply.text
    assert when_text(tomorrow.replace(hour=9, minute=0, second=0), "UTC") in reply.text

    reply = await fake.ask(CHAT, "/add Picnic | tomorrow 12:00 | Madrid")
    assert "Added #3 Picnic" in reply.text
    assert when_text(tomorrow.replace(hour=12, minute=0, second=0), "UTC") in reply.text
    assert "📍 Madrid" in reply.text

    rows = await fetch(
        bot.bot_data["services"].settings.database_url,
        "SELECT number, title, place FROM tasks WHERE chat_id = :c ORDER BY number",
        c=CHAT,
    )
    assert rows == [(1, "Buy milk", None), (2, "Call the bank", None), (3, "Picnic", "Madrid")]


async def test_add_echoes_the_due_time_in_full_in_the_chats_zone(fake: FakeTelegram, bot: Any) -> None:
    year = datetime.now(ZoneInfo("Europe/Berlin")).year + 1
    reply = await fake.ask(CHAT, "/tz Europe/Berlin")
    assert "Time zone set to Europe/Berlin" in reply.text
    reply = await fake.ask(CHAT, f"/add X | {year}-01-15 18:00")
    expected = when_text(datetime(year, 1, 15, 18, 0), "Europe/Berlin")
    assert expected.endswith(f"15 Jan {year} 18:00, Europe/Berlin")
    assert expected in reply.text
    # stored in UTC: 18:00 in Berlin in January is 17:00 UTC
    listing = await fake.ask(CHAT, "/list")
    assert f"15 Jan {year} 18:00" in line_of(listing.text, 1)


async def test_numbers_are_per_chat_and_never_reused(fake: FakeTelegram, bot: Any) -> None:
    replies = await add_tasks(fake, CHAT, "one", "two", "three")
    assert [r.text.splitlines()[0] for r in replies] == [
        "📝 Added #1 one",
        "📝 Added #2 two",
        "📝 Added #3 three",
    ]
    other = await fake.ask(CHAT + 1, "/add elsewhere")
    assert "Added #1 elsewhere" in other.text

    reply = await fake.ask(CHAT, "/delete 3")
    assert "Deleted #3 three" in reply.text
    reply = await fake.ask(CHAT, "/add four")
    assert "Added #4 four" in reply.text
    listing = await fake.ask(CHAT, "/list")
    assert "three" not in listing.text
    assert [line.split()[0] for line in task_lines(listing.text)] == ["#1", "#2", "#4"]


# --- /list ------------------------------------------------------------------------------------------------


async def test_list_sorted_by_due_time_undated_last(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(
        fake, CHAT, "Undated", "Later | in 3 days", "Soon | in 2 hours", "Middle | tomorrow 23:59"
    )
    listing = await fake.ask(CHAT, "/list")
    titles = [line.split(" ", 1)[1].split(" — ")[0] for line in task_lines(listing.text)]
    assert titles == ["Soon", "Middle", "Later", "Undated"]
    assert "(UTC)" in listing.text
    assert "overdue" not in listing.text


async def test_list_marks_overdue_tasks(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "Quick | in 2s", "Slow | in 2 hours")
    before = await fake.ask(CHAT, "/list")
    assert "overdue" not in before.text
    await asyncio.sleep(2.5)
    # the due task's reminder may be sent meanwhile: pick the /list reply out of what follows
    count = len(fake.messages(CHAT))
    fake.send_message(CHAT, "/list")
    listing = await reply_starting(fake, CHAT, "📋", after=count)
    assert "overdue" in line_of(listing.text, 1)
    assert "overdue" not in line_of(listing.text, 2)


async def test_list_all_includes_done_tasks_with_a_mark(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "Open one", "Finished one")
    await fake.ask(CHAT, "/done 2")
    listing = await fake.ask(CHAT, "/list")
    assert "Open one" in listing.text and "Finished one" not in listing.text
    everything = await fake.ask(CHAT, "/list all")
    assert "✅" in line_of(everything.text, 2) and "Finished one" in line_of(everything.text, 2)
    assert "✅" not in line_of(everything.text, 1)


async def test_empty_list_says_how_to_add(fake: FakeTelegram, bot: Any) -> None:
    listing = await fake.ask(CHAT, "/list")
    assert "No open tasks" in listing.text
    assert "/add Buy milk" in listing.text
    assert listing.buttons() == []


# --- /done, /reopen, /edit, /due, /delete -----------------------------------------------------------------


async def test_done_single_hash_and_several(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "a1", "a2", "a3", "a4", "a5")
    reply = await fake.ask(CHAT, "/done 2")
    assert reply.text == "✅ #2 a2 done."
    reply = await fake.ask(CHAT, "/done #1")
    assert reply.text == "✅ #1 a1 done."
    reply = await fake.ask(CHAT, "/done 3 4 5")
    assert reply.text.splitlines() == ["✅ #3 a3 done.", "✅ #4 a4 done.", "✅ #5 a5 done."]
    reply = await fake.ask(CHAT, "/done 1")
    assert "#1 a1 was already done" in reply.text
    listing = await fake.ask(CHAT, "/list")
    assert "No open tasks" in listing.text


async def test_done_is_all_or_none(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "keep open")
    reply = await fake.ask(CHAT, "/done 1 7")
    assert "#7" in reply.text and "no task" in reply.text.lower()
    listing = await fake.ask(CHAT, "/list")
    assert "keep open" in listing.text


async def test_reopen(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "again")
    await fake.ask(CHAT, "/done 1")
    reply = await fake.ask(CHAT, "/reopen 1")
    assert "Reopened #1 again" in reply.text
    listing = await fake.ask(CHAT, "/list")
    assert "again" in line_of(listing.text, 1) and "✅" not in listing.text


async def test_edit_renames(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "Buy milk | tomorrow 9am")
    reply = await fake.ask(CHAT, "/edit 1 Buy oat milk")
    assert "Renamed #1 Buy oat milk" in reply.text
    assert "09:00" in reply.text  # the due time is kept
    listing = await fake.ask(CHAT, "/list")
    assert "Buy oat milk" in line_of(listing.text, 1)


async def test_due_sets_and_clears(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "Report")
    await fake.ask(CHAT, "/tz Europe/Berlin")
    reply = await fake.ask(CHAT, "/due 1 tomorrow 17:30")
    tomorrow = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=1)
    assert "Due time set for #1 Report" in reply.text
    assert when_text(tomorrow.replace(hour=17, minute=30, second=0), "Europe/Berlin") in reply.text
    listing = await fake.ask(CHAT, "/list")
    assert "17:30" in line_of(listing.text, 1)

    reply = await fake.ask(CHAT, "/due #1 none")
    assert "no date" in reply.text
    listing = await fake.ask(CHAT, "/list")
    assert line_of(listing.text, 1).endswith("Report")


async def test_delete(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "gone soon", "stays")
    reply = await fake.ask(CHAT, "/delete #1")
    assert reply.text == "🗑 Deleted #1 gone soon."
    listing = await fake.ask(CHAT, "/list all")
    assert "gone soon" not in listing.text and "stays" in listing.text
    reply = await fake.ask(CHAT, "/delete 1")
    assert "no task #1" in reply.text.lower()


# --- /tz, /settings ---------------------------------------------------------------------------------------


async def test_tz_shows_sets_and_canonicalises(fake: FakeTelegram, bot: Any) -> None:
    reply = await fake.ask(CHAT, "/tz")
    assert "time zone is UTC" in reply.text
    assert "/tz Europe/Berlin" in reply.text

    reply = await fake.ask(CHAT, "/tz Europe/Berlin")
    assert "Time zone set to Europe/Berlin" in reply.text
    assert reply.text.rstrip(".").endswith("Europe/Berlin")  # "It is now <time>, Europe/Berlin."

    reply = await fake.ask(CHAT, "/tz america/new_york")
    assert "Time zone set to America/New_York" in reply.text
    reply = await fake.ask(CHAT, "/tz europe/berlin")
    assert "Time zone set to Europe/Berlin" in reply.text
    reply = await fake.ask(CHAT, "/tz")
    assert "time zone is Europe/Berlin" in reply.text
    rows = await fetch(bot.bot_data["services"].settings.database_url, "SELECT timezone FROM chats")
    assert rows == [("Europe/Berlin",)]


async def test_settings_shows_zone_and_counts(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "x1", "x2", "x3")
    await fake.ask(CHAT, "/done 2")
    await fake.ask(CHAT, "/tz Asia/Tokyo")
    reply = await fake.ask(CHAT, "/settings")
    assert "Time zone: Asia/Tokyo" in reply.text
    assert "Tasks: 2 open, 3 in all" in reply.text


# --- recurring tasks --------------------------------------------------------------------------------------


async def test_recurring_task_moves_to_its_next_occurrence_on_done(fake: FakeTelegram, bot: Any) -> None:
    reply = await fake.ask(CHAT, "/add Standup | every day 9:00")
    assert "Added #1 Standup" in reply.text
    assert "every day at 09:00" in reply.text
    rows = await fetch(bot.bot_data["services"].settings.database_url, "SELECT rule, due_at FROM tasks")
    assert rows[0][0] and rows[0][1] is not None

    now = datetime.now(ZoneInfo("UTC"))
    first = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if first <= now:
        first += timedelta(days=1)
    assert when_text(first, "UTC") in reply.text

    reply = await fake.ask(CHAT, "/done 1")
    assert "done for this time" in reply.text
    assert f"next: {when_text(first + timedelta(days=1), 'UTC')}" in reply.text
    listing = await fake.ask(CHAT, "/list")
    line = line_of(listing.text, 1)
    assert "Standup" in line and "🔁" in line and "✅" not in line
    everything = await fake.ask(CHAT, "/list all")
    assert "✅" not in everything.text


# --- the same flow on SQLite and PostgreSQL ---------------------------------------------------------------


@BOTH_BACKENDS
async def test_add_list_done_delete_flow(fake: FakeTelegram, bot: Any, db_url: str) -> None:
    replies = await add_tasks(fake, CHAT, "Buy milk | tomorrow 9am", "Call mom", "Pay rent | in 3 days")
    assert [r.text.splitlines()[0] for r in replies] == [
        "📝 Added #1 Buy milk",
        "📝 Added #2 Call mom",
        "📝 Added #3 Pay rent",
    ]
    listing = await fake.ask(CHAT, "/list")
    assert [line.split()[0] for line in task_lines(listing.text)] == ["#1", "#3", "#2"]

    assert (await fake.ask(CHAT, "/done 1 3")).text.splitlines() == [
        "✅ #1 Buy milk done.",
        "✅ #3 Pay rent done.",
    ]
    assert (await fake.ask(CHAT, "/delete 2")).text == "🗑 Deleted #2 Call mom."
    listing = await fake.ask(CHAT, "/list all")
    assert [line.split()[:2] for line in task_lines(listing.text)] == [["✅", "#1"], ["✅", "#3"]]
    assert "No open tasks" in (await fake.ask(CHAT, "/list")).text

    rows = await fetch(db_url, "SELECT number, title, done FROM tasks ORDER BY number")
    assert [(n, t, bool(d)) for n, t, d in rows] == [(1, "Buy milk", True), (3, "Pay rent", True)]
    assert "Added #4" in (await fake.ask(CHAT, "/add After")).text
