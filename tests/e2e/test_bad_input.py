"""Bad input gets a reply saying what was wrong and the form that works, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import add_tasks, ask_group, db_state, fetch, press_unchecked
from tests.fakes.telegram_api import FakeTelegram

CHAT = 100
GROUP = -100400
STRANGER = 666

LONG_TITLE = "t" * 257

# (what the user sends, words the reply must contain: what was wrong, and the form that works)
BAD_INPUT = [
    ("/done abc", ["“abc” is not a task number", "Use: /done 3"]),
    ("/done 999", ["no task #999", "/list shows the numbers"]),
    ("/done", ["Which task?", "Use: /done 3"]),
    ("/done 0", ["“0” is not a task number", "Use: /done 3"]),
    ("/reopen x", ["not a task number", "Use: /reopen 3"]),
    ("/delete", ["Which task?", "Use: /delete 3"]),
    ("/edit 1", ["title is empty", "Use: /edit 3 New title"]),
    ("/edit", ["Which task?", "Use: /edit 3 New title"]),
    ("/due 1", ["When is #1 due?", "Use: /due 3 friday 17:30"]),
    ("/due 1 blah", ["couldn't read “blah” as a time", "Try: in 30 min"]),
    ("/add X | blah", ["couldn't read “blah” as a time", "Try: in 30 min"]),
    ("/add X | yesterday 9:00", ["Try:"]),
    ("/add X | 2001-01-01 10:00", ["Mon 1 Jan 2001 10:00, UTC is already in the past", "Try a later"]),
    ("/add X | tomorrow | Berlin | extra", ["Too many", "Use: /add Buy milk | tomorrow 9:00"]),
    ("/tz Mars/Olympus", ["“Mars/Olympus” is not a time zone", "Europe/Berlin"]),
    ("/add   | tomorrow", ["title is empty", "Use: /add Buy milk | tomorrow 9:00"]),
    (f"/add {LONG_TITLE}", ["257 characters", "limit is 256", "Use: /add"]),
    (f"/edit 1 {LONG_TITLE}", ["257 characters", "limit is 256", "Use: /edit 3 New title"]),
    ("/list foo", ["Use /list", "/list all"]),
    ("/foo", ["I don't know /foo", "/help"]),
]


@pytest.mark.parametrize(("command", "expected"), BAD_INPUT, ids=[c[:24] for c, _ in BAD_INPUT])
async def test_bad_input_explains_and_changes_nothing(
    fake: FakeTelegram, bot: Any, db_url: str, command: str, expected: list[str]
) -> None:
    await add_tasks(fake, CHAT, "Existing | tomorrow 9am")
    before_list = (await fake.ask(CHAT, "/list all")).text
    before = await db_state(db_url)

    reply = await fake.ask(CHAT, command)
    assert reply.text.startswith("⚠️"), reply.text
    for words in expected:
        assert words in reply.text, (words, reply.text)
    assert "Traceback" not in reply.text and "Error" not in reply.text

    assert await db_state(db_url) == before
    assert (await fake.ask(CHAT, "/list all")).text == before_list
    assert len(fake.messages(CHAT)) == 4  # one reply each, nothing more


async def test_the_longest_allowed_title_works(fake: FakeTelegram, bot: Any) -> None:
    title = "t" * 256
    reply = await fake.ask(CHAT, f"/add {title}")
    assert f"Added #1 {title}" in reply.text


async def test_unknown_commands_in_groups_only_when_addressed(fake: FakeTelegram, bot: Any) -> None:
    fake.send_message(GROUP, "/foo", chat_type="group", user_id=1001)
    fake.send_message(GROUP, "/foo@some_other_bot", chat_type="group", user_id=1001)
    # chat updates are handled in order: the next reply is the one to /foo@taskcast_bot
    reply = await ask_group(fake, GROUP, "/foo@taskcast_bot")
    assert "I don't know /foo" in reply.text and "/help" in reply.text
    assert len(fake.messages(GROUP)) == 1
    # plain text in a group outside the guided flow is ignored too
    fake.send_message(GROUP, "hello everyone", chat_type="group", user_id=1001)
    reply = await ask_group(fake, GROUP, "/tz")
    assert "time zone is UTC" in reply.text
    assert len(fake.messages(GROUP)) == 2


async def test_an_internal_failure_says_something_went_wrong_once(
    fake: FakeTelegram, bot: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await add_tasks(fake, CHAT, "Survivor")
    fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat is on fire", chat_id=CHAT)
    before = await db_state(db_url)
    reply = await fake.ask(CHAT, "/list")
    assert reply.text.startswith("⚠️ Something went wrong")
    assert "Traceback" not in reply.text and "fire" not in reply.text and "BadRequest" not in reply.text
    await fake.expect_no_message(CHAT, within=0.3)
    assert [m.text for m in fake.messages(CHAT)].count(reply.text) == 1
    assert any("handling an update failed" in r.getMessage() for r in caplog.records)
    assert await db_state(db_url) == before

    # the bot keeps working
    listing = await fake.ask(CHAT, "/list")
    assert "#1 Survivor" in listing.text
    assert "Added #2 Next" in (await fake.ask(CHAT, "/add Next")).text


async def test_a_failure_while_pressing_a_button_is_answered(fake: FakeTelegram, bot: Any) -> None:
    long = "y" * 200
    await add_tasks(fake, CHAT, *[f"task {i} {long}" for i in range(30)])
    listing = await fake.ask(CHAT, "/list")
    fake.fail_next("editMessageText", error_code=400, description="Bad Request: something odd")
    answer = await fake.press(CHAT, listing.message_id, listing.callback_data("▶"))
    assert answer.text == "Something went wrong."
    assert fake.message(CHAT, listing.message_id).edits == 0
    # and works again afterwards
    await fake.press(CHAT, listing.message_id, listing.callback_data("▶"))
    assert "page 2/" in fake.message(CHAT, listing.message_id).text


async def test_allowed_chat_ids(fake: FakeTelegram, start_bot: Any, db_url: str) -> None:
    async with start_bot(allowed_chat_ids=frozenset({CHAT})):
        assert "Added #1 Allowed" in (await fake.ask(CHAT, "/add Allowed")).text

        refusal = await fake.ask(STRANGER, "/add Sneaky")
        assert "not available in this chat" in refusal.text
        for text in ("/start", "/list", "/tz Europe/Berlin", "/add"):
            assert "not available" in (await fake.ask(STRANGER, text)).text
        # plain text gets no answer and leaves no trace either
        fake.send_message(STRANGER, "hello?")
        assert "not available" in (await fake.ask(STRANGER, "/settings")).text
        assert len(fake.messages(STRANGER)) == 6

        # a button pressed in the refused chat is answered politely too
        refused = fake.messages(STRANGER)[0].message_id
        answer = await press_unchecked(fake, STRANGER, refused, f"l:{STRANGER}:1:o")
        assert answer.show_alert and "not available" in (answer.text or "")

        assert await fetch(db_url, "SELECT id FROM chats") == [(CHAT,)]
        assert await fetch(db_url, "SELECT chat_id, title FROM tasks") == [(CHAT, "Allowed")]
        assert await fetch(db_url, "SELECT chat_id FROM drafts") == []
