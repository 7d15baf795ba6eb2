"""/list pages: each message under Telegram's limit, ◀ ▶ to turn, every task on exactly one page."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import add_tasks, task_lines
from tests.fakes.telegram_api import MAX_TEXT_LENGTH, FakeTelegram, SentMessage, utf16_len

CHAT = 100
COUNT = 60


def title(i: int) -> str:
    return f"Task {i:02d} " + "lorem ipsum & <dolor> " * 9  # ~207 characters, with text to escape


def numbers_on(page: SentMessage) -> list[int]:
    return [int(re.match(r"(?:✅ )?#(\d+) ", line).group(1)) for line in task_lines(page.text)]  # type: ignore[union-attr]


async def test_sixty_long_tasks_page_through(fake: FakeTelegram, bot: Any) -> None:
    replies = await add_tasks(fake, CHAT, *[title(i) for i in range(1, COUNT + 1)])
    assert replies[-1].text.startswith(f"📝 Added #{COUNT} Task {COUNT}")

    listing = await fake.ask(CHAT, "/list")
    assert utf16_len(listing.text) <= MAX_TEXT_LENGTH
    assert "page 1/" in listing.text
    total = int(re.search(r"page 1/(\d+)", listing.text).group(1))  # type: ignore[union-attr]
    assert total >= 3
    assert listing.button_texts == [f"1/{total}", "▶"]

    pages = [fake.message(CHAT, listing.message_id)]
    answers_before = len(fake.callback_answers)
    for page in range(2, total + 1):
        current = fake.message(CHAT, listing.message_id)
        answer = await fake.press(CHAT, listing.message_id, current.callback_data("▶"))
        assert answer.text is None and not answer.show_alert  # answered, silently
        edited = fake.message(CHAT, listing.message_id)
        assert f"page {page}/{total}" in edited.text
        assert utf16_len(edited.text) <= MAX_TEXT_LENGTH
        expected_buttons = ["◀", f"{page}/{total}"] + (["▶"] if page < total else [])
        assert edited.button_texts == expected_buttons
        pages.append(edited)
    assert len(fake.callback_answers) == answers_before + total - 1
    assert len(fake.messages(CHAT)) == COUNT + 1  # pages are edits of the one /list message

    seen = [n for page in pages for n in numbers_on(page)]
    assert sorted(seen) == list(range(1, COUNT + 1))  # each task on exactly one page
    for page in pages:
        for line in task_lines(page.text):
            number = int(line.split()[0].lstrip("#"))
            assert line == f"#{number} {title(number)}".rstrip()  # titles whole and verbatim

    # ◀ goes back
    last = fake.message(CHAT, listing.message_id)
    await fake.press(CHAT, listing.message_id, last.callback_data("◀"))
    back = fake.message(CHAT, listing.message_id)
    assert f"page {total - 1}/{total}" in back.text
    assert numbers_on(back) == numbers_on(pages[total - 2])

    # the page indicator re-renders the same page: answered, nothing breaks
    answer = await fake.press(CHAT, listing.message_id, back.callback_data(f"{total - 1}/{total}"))
    assert not answer.show_alert
    assert fake.message(CHAT, listing.message_id).text == back.text


async def test_a_page_button_after_tasks_went_away_shows_the_last_page(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, *[title(i) for i in range(1, 31)])
    listing = await fake.ask(CHAT, "/list")
    forward = listing.callback_data("▶")
    done = await fake.ask(CHAT, f"/done {' '.join(str(i) for i in range(2, 31))}")
    # 29 long titles do not fit one message: the reply stays under the limit and counts the rest
    assert utf16_len(done.text) <= MAX_TEXT_LENGTH
    more = re.search(r"… and (\d+) more\.$", done.text)
    assert more is not None, done.text
    assert done.text.count(" done.") + int(more.group(1)) == 29
    await fake.press(CHAT, listing.message_id, forward)
    page = fake.message(CHAT, listing.message_id)
    assert numbers_on(page) == [1]
    assert page.buttons() == []


async def test_list_all_pages_include_done_tasks(fake: FakeTelegram, bot: Any) -> None:
    await add_tasks(fake, CHAT, *[title(i) for i in range(1, 41)])
    await fake.ask(CHAT, "/done 1 2 3")
    listing = await fake.ask(CHAT, "/list all")
    pages = [listing]
    while "▶" in pages[-1].button_texts:
        await fake.press(CHAT, listing.message_id, pages[-1].callback_data("▶"))
        pages.append(fake.message(CHAT, listing.message_id))
    seen = [n for page in pages for n in numbers_on(page)]
    assert sorted(seen) == list(range(1, 41))
    assert seen[-3:] == [1, 2, 3]  # done ones last, marked
    assert all(line.startswith("✅") for line in task_lines(pages[-1].text)[-3:])
