"""Edge cases a demanding user hits: acting on tasks in the wrong state, double taps, zone changes under
recurring tasks, and the guided add amid group chatter."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ask_group, db_state, task_lines
from tests.fakes.telegram_api import FakeTelegram

CHAT = 4242
GROUP = -4343
ALICE, BOB = 11, 12


async def test_due_on_a_done_task_says_reopen_first_and_changes_nothing(
    fake: FakeTelegram, bot: Any, db_url: str
) -> None:
    await fake.ask(CHAT, "/add Pay rent | tomorrow 9am")
    await fake.ask(CHAT, "/done 1")
    before = await db_state(db_url)
    reply = await fake.ask(CHAT, "/due 1 in 2 hours")
    assert "#1 is done" in reply.text and "/reopen 1" in reply.text
    assert await db_state(db_url) == before


async def test_reopen_of_an_open_task_says_so_and_changes_nothing(
    fake: FakeTelegram, bot: Any, db_url: str
) -> None:
    await fake.ask(CHAT, "/add Pay rent | tomorrow 9am")
    before = await db_state(db_url)
    reply = await fake.ask(CHAT, "/reopen 1")
    assert "#1 is not done" in reply.text
    assert await db_state(db_url) == before


async def test_a_double_done_on_a_recurring_task_does_not_skip_an_occurrence(
    fake: FakeTelegram, bot: Any
) -> None:
    await fake.ask(CHAT, "/add Standup | every day 9:00")
    first = await fake.ask(CHAT, "/done 1")
    second = await fake.ask(CHAT, "/done 1")
    next_due = first.text.split("next: ", 1)[1]
    assert "done for this time" in first.text
    assert "already done for this time" in second.text and second.text.endswith(next_due)
    listing = await fake.ask(CHAT, "/list")
    assert next_due.split(",")[0] in task_lines(listing.text)[0]


async def test_a_new_time_zone_keeps_recurring_tasks_at_their_local_time(
    fake: FakeTelegram, bot: Any
) -> None:
    await fake.ask(CHAT, "/add Standup | every day 9:00")
    await fake.ask(CHAT, "/tz America/New_York")
    listing = await fake.ask(CHAT, "/list")
    assert "09:00 🔁" in task_lines(listing.text)[0]
    await fake.ask(CHAT, "/tz Asia/Tokyo")
    listing = await fake.ask(CHAT, "/list")
    assert "09:00 🔁" in task_lines(listing.text)[0]


async def test_typing_no_date_in_the_guided_add_adds_an_undated_task(fake: FakeTelegram, bot: Any) -> None:
    prompt = await fake.ask(CHAT, "/add")
    question = await fake.ask(CHAT, "Water the plants", reply_to_message_id=prompt.message_id)
    added = await fake.ask(CHAT, "no date", reply_to_message_id=question.message_id)
    assert added.text.startswith("📝 Added #1 Water the plants")
    assert "no date" in added.text


async def test_group_chatter_is_not_taken_for_the_drafting_users_answer(fake: FakeTelegram, bot: Any) -> None:
    prompt = await ask_group(fake, GROUP, "/add", user_id=ALICE)
    # Alice talks to the group (not a reply to the bot): the draft ignores it.
    fake.send_message(GROUP, "hello everyone", chat_type="group", user_id=ALICE)
    await fake.expect_no_message(GROUP, within=0.5)
    question = await ask_group(
        fake, GROUP, "Book the room", user_id=ALICE, reply_to_message_id=prompt.message_id
    )
    assert "reply to this message" in question.text
    added = await ask_group(
        fake, GROUP, "tomorrow 10:00", user_id=ALICE, reply_to_message_id=question.message_id
    )
    assert added.text.startswith("📝 Added #1 Book the room")
