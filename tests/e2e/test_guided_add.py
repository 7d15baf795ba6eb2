"""The guided /add: title first, then a when-button or a typed when; /cancel leaves it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import ask_group, db_state, fetch, press_unchecked, when_text
from tests.fakes.telegram_api import FakeTelegram, SentMessage

CHAT = 100
OTHER = 200
GROUP = -100300
ALICE = 501
BOB = 502


async def start_guided(fake: FakeTelegram, chat_id: int, title: str) -> SentMessage:
    """/add alone, then the title: returns the bot's when-question with its buttons."""
    prompt = await fake.ask(chat_id, "/add")
    return await fake.ask(chat_id, title, reply_to_message_id=prompt.message_id)


async def test_add_alone_asks_for_the_title_then_offers_when_buttons(fake: FakeTelegram, bot: Any) -> None:
    prompt = await fake.ask(CHAT, "/add")
    assert "What is the task?" in prompt.text
    markup = json.loads(fake.calls_to("sendMessage")[-1]["reply_markup"])
    assert markup["force_reply"] is True and markup["selective"] is True

    question = await fake.ask(CHAT, "Call mom", reply_to_message_id=prompt.message_id)
    assert "When is Call mom due?" in question.text
    labels = question.button_texts
    assert labels[1:] == ["Tomorrow 9:00", "No date"]
    hour = datetime.now(ZoneInfo("UTC")).hour
    assert labels[0] == ("Today 18:00" if hour < 18 else "Tomorrow 18:00")
    # every button names the chat and the user it belongs to
    assert all(f":{CHAT}:{CHAT}:" in data for row in question.buttons() for _, data in row)


async def test_pressing_no_date_edits_the_question_into_the_task(fake: FakeTelegram, bot: Any) -> None:
    question = await start_guided(fake, CHAT, "Call mom")
    answer = await fake.press(CHAT, question.message_id, question.callback_data("No date"))
    assert answer.text == "Added"
    edited = fake.message(CHAT, question.message_id)
    assert edited.edits == 1
    assert "Added #1 Call mom" in edited.text and "no date" in edited.text
    assert edited.buttons() == []  # the when-buttons are gone
    listing = await fake.ask(CHAT, "/list")
    assert "#1 Call mom" in listing.text
    # the draft is over: plain text is no longer taken as an answer
    hint = await fake.ask(CHAT, "just chatting")
    assert "/add Buy milk | tomorrow 9am" in hint.text


async def test_pressing_tomorrow_9_sets_the_due_time(fake: FakeTelegram, bot: Any) -> None:
    question = await start_guided(fake, CHAT, "Dentist")
    await fake.press(CHAT, question.message_id, question.callback_data("Tomorrow 9:00"))
    tomorrow = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    edited = fake.message(CHAT, question.message_id)
    assert when_text(tomorrow.replace(hour=9, minute=0, second=0), "UTC") in edited.text


async def test_typing_a_when_instead_of_pressing(fake: FakeTelegram, bot: Any) -> None:
    question = await start_guided(fake, CHAT, "Water plants")
    reply = await fake.ask(CHAT, "in 2 hours")
    assert "Added #1 Water plants" in reply.text
    assert "no date" not in reply.text and "UTC" in reply.text
    rows = await fetch(bot.bot_data["services"].settings.database_url, "SELECT title, due_at FROM tasks")
    assert rows[0][0] == "Water plants" and rows[0][1] is not None
    assert await fetch(bot.bot_data["services"].settings.database_url, "SELECT * FROM drafts") == []
    # the question's buttons now point at a finished draft: pressing one adds nothing
    answer = await fake.press(CHAT, question.message_id, question.callback_data("No date"))
    assert answer.text is not None and "gone" in answer.text
    assert len(await fetch(bot.bot_data["services"].settings.database_url, "SELECT * FROM tasks")) == 1


async def test_a_bad_typed_when_keeps_the_draft(fake: FakeTelegram, bot: Any) -> None:
    await start_guided(fake, CHAT, "Water plants")
    reply = await fake.ask(CHAT, "someday maybe")
    assert "Try:" in reply.text
    reply = await fake.ask(CHAT, "tomorrow 9am")
    assert "Added #1 Water plants" in reply.text


async def test_cancel_leaves_and_says_nothing_to_cancel_otherwise(fake: FakeTelegram, bot: Any) -> None:
    reply = await fake.ask(CHAT, "/cancel")
    assert reply.text == "Nothing to cancel."

    await fake.ask(CHAT, "/add")
    assert (await fake.ask(CHAT, "/cancel")).text == "Cancelled."
    hint = await fake.ask(CHAT, "Not a title")
    assert "/add Buy milk" in hint.text  # no longer in the flow

    question = await start_guided(fake, CHAT, "Half done")
    assert (await fake.ask(CHAT, "/cancel")).text == "Cancelled."
    answer = await fake.press(CHAT, question.message_id, question.callback_data("No date"))
    assert "gone" in (answer.text or "")
    assert "No open tasks" in (await fake.ask(CHAT, "/list")).text


async def test_in_a_group_only_the_drafts_author_can_press(fake: FakeTelegram, bot: Any, db_url: str) -> None:
    prompt = await ask_group(fake, GROUP, "/add@taskcast_bot", user_id=ALICE)
    assert "What is the task?" in prompt.text
    question = await ask_group(
        fake, GROUP, "Book the room", user_id=ALICE, reply_to_message_id=prompt.message_id
    )
    assert "When is Book the room due?" in question.text
    before = await db_state(db_url)

    answer = await fake.press(GROUP, question.message_id, question.callback_data("No date"), user_id=BOB)
    assert answer.show_alert and "someone else's" in (answer.text or "")
    assert fake.message(GROUP, question.message_id).edits == 0
    assert await db_state(db_url) == before
    assert "No open tasks" in (await ask_group(fake, GROUP, "/list", user_id=BOB)).text

    # Bob's plain text is not taken as an answer to Alice's draft either
    fake.send_message(GROUP, "in 2 hours", chat_type="group", user_id=BOB)
    answer = await fake.press(GROUP, question.message_id, question.callback_data("No date"), user_id=ALICE)
    assert answer.text == "Added"
    edited = fake.message(GROUP, question.message_id)
    assert "Added #1 Book the room" in edited.text and "no date" in edited.text


async def test_a_button_forged_for_another_chat_is_refused(fake: FakeTelegram, bot: Any, db_url: str) -> None:
    question = await start_guided(fake, CHAT, "Mine")
    data = question.callback_data("No date")
    # the other chat's user forges the first chat's button data under a message of their own chat
    own = await fake.ask(OTHER, "/help")
    before = await db_state(db_url)
    answer = await press_unchecked(fake, OTHER, own.message_id, data)
    assert answer.show_alert and "no longer valid" in (answer.text or "")
    assert fake.message(OTHER, own.message_id).edits == 0
    assert await db_state(db_url) == before

    # the forger's own id in the data does not help either
    forged = data.replace(f":{CHAT}:{CHAT}:", f":{CHAT}:{OTHER}:")
    answer = await press_unchecked(fake, OTHER, own.message_id, forged)
    assert "no longer valid" in (answer.text or "")
    assert await db_state(db_url) == before

    # the rightful owner's draft is untouched and still works
    answer = await fake.press(CHAT, question.message_id, data)
    assert answer.text == "Added"
    assert "No open tasks" in (await fake.ask(OTHER, "/list")).text
