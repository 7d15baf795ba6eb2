"""Chat identity is the authentication; user text is shown verbatim (escaped once, validated by the fake)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import BOTH_BACKENDS, add_tasks, db_state, press_unchecked, task_lines
from tests.fakes.telegram_api import FakeTelegram

CHAT_A = 100
CHAT_B = 200


@BOTH_BACKENDS
async def test_another_chats_task_numbers_are_not_found(fake: FakeTelegram, bot: Any, db_url: str) -> None:
    await add_tasks(fake, CHAT_A, "A secret one | tomorrow 9am", "A secret two", "A secret three")
    first_b = await fake.ask(CHAT_B, "/add B only")
    assert "Added #1 B only" in first_b.text  # each chat numbers from 1
    before = await db_state(db_url)
    a_listing = (await fake.ask(CHAT_A, "/list all")).text

    for command in ("/done 3", "/edit 3 hijacked", "/delete 3", "/due 3 tomorrow", "/reopen 3", "/done 2 3"):
        reply = await fake.ask(CHAT_B, command)
        assert "no task" in reply.text.lower() and "#3" in reply.text, (command, reply.text)
        assert "A secret" not in reply.text

    assert await db_state(db_url) == before
    assert (await fake.ask(CHAT_A, "/list all")).text == a_listing
    b_listing = await fake.ask(CHAT_B, "/list all")
    assert "A secret" not in b_listing.text
    assert [line.split(" ", 1)[1] for line in task_lines(b_listing.text)] == ["B only"]


async def test_acting_on_a_shared_number_touches_only_the_own_chats_task(
    fake: FakeTelegram, bot: Any
) -> None:
    await add_tasks(fake, CHAT_A, "A one", "A two")
    await add_tasks(fake, CHAT_B, "B one")
    assert (await fake.ask(CHAT_B, "/edit 1 B renamed")).text.startswith("✏️ Renamed #1 B renamed")
    assert (await fake.ask(CHAT_B, "/done 1")).text == "✅ #1 B renamed done."
    a_listing = await fake.ask(CHAT_A, "/list")
    assert [line.split(" ", 1)[1] for line in task_lines(a_listing.text)] == ["A one", "A two"]
    assert "B " not in a_listing.text


async def test_a_list_page_button_naming_another_chat_is_refused(
    fake: FakeTelegram, bot: Any, db_url: str
) -> None:
    long = "x" * 200
    await add_tasks(fake, CHAT_A, *[f"A private {i} {long}" for i in range(30)])
    a_list = await fake.ask(CHAT_A, "/list")
    next_page = a_list.callback_data("▶")
    assert next_page.startswith(f"l:{CHAT_A}:")

    b_list = await fake.ask(CHAT_B, "/list")  # B's own (empty) list message
    before = await db_state(db_url)
    answer = await press_unchecked(fake, CHAT_B, b_list.message_id, next_page)
    assert answer.show_alert and "no longer valid" in (answer.text or "")
    assert fake.message(CHAT_B, b_list.message_id).edits == 0
    assert all("A private" not in m.text for m in fake.messages(CHAT_B))
    assert await db_state(db_url) == before


# --- escaping ---------------------------------------------------------------------------------------------

TRICKY = ["<b>bold</b>", "a & b", "x<y", "_*[]", "&amp;", "</code><i>", "5 > 3 && 2 < 4"]


@pytest.mark.parametrize("title", TRICKY)
async def test_titles_are_shown_verbatim(fake: FakeTelegram, bot: Any, title: str) -> None:
    added = await fake.ask(CHAT_A, f"/add {title}")
    assert added.text.splitlines()[0] == f"📝 Added #1 {title}"
    assert not any(e["type"] == "italic" for e in added.entities)
    listing = await fake.ask(CHAT_A, "/list")
    assert task_lines(listing.text) == [f"#1 {title}"]
    renamed = await fake.ask(CHAT_A, f"/edit 1 {title} {title}")
    assert renamed.text.splitlines()[0] == f"✏️ Renamed #1 {title} {title}"
    done = await fake.ask(CHAT_A, "/done 1")
    assert done.text == f"✅ #1 {title} {title} done."
    deleted = await fake.ask(CHAT_A, "/delete 1")
    assert deleted.text == f"🗑 Deleted #1 {title} {title}."


async def test_every_tricky_title_at_once_in_list_and_guided_flow(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT_A, *TRICKY)
    listing = await fake.ask(CHAT_A, "/list")
    assert task_lines(listing.text) == [f"#{i} {t}" for i, t in enumerate(TRICKY, 1)]
    # the HTML sent escaped the user text: the only entities are the bot's own bold numbers and header
    assert {e["type"] for e in listing.entities} == {"bold"}

    prompt = await fake.ask(CHAT_A, "/add")
    question = await fake.ask(CHAT_A, "<i>a</i> & <b>", reply_to_message_id=prompt.message_id)
    assert "When is <i>a</i> & <b> due?" in question.text
    await fake.press(CHAT_A, question.message_id, question.callback_data("No date"))
    assert "Added #8 <i>a</i> & <b>" in fake.message(CHAT_A, question.message_id).text

    place = await fake.ask(CHAT_A, "/add Lunch | tomorrow 12:00 | <Café & Bar>")
    assert "📍 <Café & Bar>" in place.text
