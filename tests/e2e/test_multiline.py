"""Arguments on the next line: phones often put a line break after `/edit 1` or `/due 1`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import add_tasks, task_lines, when_text
from tests.fakes.telegram_api import FakeTelegram

CHAT = 4242


async def test_edit_and_due_accept_a_line_break_after_the_number(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, "Old title")

    reply = await fake.ask(CHAT, "/edit 1\nNew title")
    assert reply.text.startswith("✏️ Renamed #1 New title"), reply.text

    reply = await fake.ask(CHAT, "/due 1\ntomorrow 9am")
    tomorrow = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    assert reply.text.startswith("⏰ Due time set for #1 New title"), reply.text
    assert when_text(tomorrow.replace(hour=9, minute=0, second=0), "UTC") in reply.text

    listing = await fake.ask(CHAT, "/list")
    [line] = task_lines(listing.text)
    assert "#1 New title" in line and "09:00" in line
