"""Reminders when things go wrong: the weather service failing, Telegram refusing, limiting or moving a chat.

Real bot ↔ real HTTP ↔ FakeTelegram and FakeOpenMeteo (with their fault injection), real SQLite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from storage.models import Chat
from tests.e2e.conftest import add_tasks, ask_group, when_text
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.telegram_api import FakeTelegram

if TYPE_CHECKING:
    from tests.e2e.weather_fixtures import Inbox, TaskDB

pytest_plugins = ["tests.e2e.weather_fixtures"]

CHAT = 100
ON_TIME = 2.0


def reminder_sends(fake: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage calls that carried a reminder to the chat, refused ones included."""
    return [
        c
        for c in fake.calls_to("sendMessage")
        if str(c.get("chat_id")) == str(chat_id) and str(c.get("text", "")).startswith("⏰")
    ]


async def first_reminder_send(fake: FakeTelegram, chat_id: int, *, within: float = 5.0) -> float:
    """Wait for the first attempt to send the chat a reminder; return when it was seen (monotonic)."""
    deadline = time.monotonic() + within
    while not reminder_sends(fake, chat_id):
        assert time.monotonic() < deadline, "no attempt to send a reminder"
        await asyncio.sleep(0.005)
    return time.monotonic()


def now_s() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- the weather service failing ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["down", "hanging", "malformed"])
async def test_a_failing_weather_service_does_not_delay_the_reminder(
    fault: str, fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    if fault == "down":
        meteo.fail_next(50, 500)
    elif fault == "hanging":
        meteo.hang(10)
    else:
        meteo.malformed_next(50)
    await fake.ask(CHAT, "/add Bike to work | in 1s")
    due = (await tasks_db.task(CHAT, 1)).due_at
    assert due is not None

    message, seen = await inbox.wait(CHAT, 1)

    lateness = (seen - due).total_seconds()
    assert 0 <= lateness < ON_TIME, f"{fault}: the reminder came {lateness:.2f}s after its due time"
    assert message.text.splitlines() == [
        "⏰ #1 Bike to work",
        f"Due {when_text(due.astimezone(ZoneInfo('Europe/Berlin')), 'Europe/Berlin')}",
        "🌤 Berlin, Germany: forecast unavailable.",
    ]
    assert meteo.forecast_requests >= 1  # it did ask
    assert (await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)).done is False


async def test_beyond_the_16_day_horizon_the_reminder_says_so_without_asking(
    fake: FakeTelegram, meteo: FakeOpenMeteo, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/city Berlin")
    await fake.ask(CHAT, "/add Renew the passport | in 20 days")
    due = (await tasks_db.task(CHAT, 1)).due_at
    assert due is not None and due > datetime.now(UTC) + timedelta(days=19)
    await tasks_db.set_task(CHAT, 1, remind_at=now_s())  # an early reminder about a far occurrence

    message, _ = await inbox.wait(CHAT, 1)

    assert message.text.splitlines() == [
        "⏰ #1 Renew the passport",
        f"Due {when_text(due.astimezone(ZoneInfo('Europe/Berlin')), 'Europe/Berlin')}",
        "🌤 Berlin, Germany: forecast not available yet (Open-Meteo looks 16 days ahead).",
    ]
    assert meteo.forecast_requests == 0
    assert [r.path for r in meteo.requests] == ["/v1/search"]  # only /city's geocoding


# --- Telegram refusing -------------------------------------------------------------------------------------


async def test_a_429_is_retried_after_retry_after_and_the_reminder_is_sent_once(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/add Stand up | in 1s")
    due = (await tasks_db.task(CHAT, 1)).due_at
    assert due is not None
    fake.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=CHAT)

    refused_at = await first_reminder_send(fake, CHAT)
    message, seen = await inbox.wait(CHAT, 1)
    delivered_at = time.monotonic()

    assert delivered_at - refused_at >= 1.0  # retry_after was honoured
    assert (seen - due).total_seconds() < 1.0 + ON_TIME
    assert "late" not in message.text
    await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)
    await fake.expect_no_message(CHAT, within=1.2)  # one more dispatcher poll: nothing is sent again
    assert len(inbox.reminders(CHAT)) == 1
    assert len(reminder_sends(fake, CHAT)) == 2  # the refused one and the accepted one


@pytest.mark.parametrize("failure", ["blocked", "chat not found"])
async def test_an_unreachable_chat_stops_getting_reminders_until_it_writes_again(
    failure: str, fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    gone, stays = 300, 400
    await add_tasks(fake, gone, "Water the plants | in 1s", "Call grandma | in 2s")
    await add_tasks(fake, stays, "Stretch | in 1s", "Drink water | in 2s")
    if failure == "blocked":
        fake.block_chat(gone)
    else:
        fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found", chat_id=gone)

    await inbox.wait(stays, 1)
    await inbox.wait(stays, 2)  # due just after the unreachable chat's second one: it had its turn

    chat = await tasks_db.chat(gone)
    assert chat is not None and chat.active is False
    assert len(reminder_sends(fake, gone)) == 1  # the first was refused; the second was not even tried
    assert inbox.reminders(gone) == []
    # nothing is lost: both reminders are still pending
    pending = await tasks_db.tasks(gone)
    assert [(t.done, t.remind_at is not None) for t in pending] == [(False, True), (False, True)]
    assert (await tasks_db.chat(stays)).active is True  # type: ignore[union-attr]

    # the user is back: any message reactivates the chat, and the reminders come
    fake.unblock_chat(gone)
    reply = await fake.ask(gone, "/start")
    assert "Taskcast" in reply.text
    assert (await tasks_db.chat(gone)).active is True  # type: ignore[union-attr]
    first, _ = await inbox.wait(gone, 1)
    second, _ = await inbox.wait(gone, 2)
    assert "late" not in first.text and "late" not in second.text
    await tasks_db.wait_task(gone, 2, lambda t: t.remind_at is None)
    await fake.expect_no_message(gone, within=1.2)
    assert [len(inbox.reminders(gone, n)) for n in (1, 2)] == [1, 1]
    assert [len(inbox.reminders(stays, n)) for n in (1, 2)] == [1, 1]


async def test_a_migrated_group_gets_the_reminder_at_its_new_id_and_keeps_its_tasks(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    old, new = -100300, -1001000300
    reply = await ask_group(fake, old, "/add Team lunch | in 1s")
    assert "Added #1 Team lunch" in reply.text
    due = (await tasks_db.task(old, 1)).due_at
    assert due is not None
    fake.migrate_chat(old, new)  # sends to the old id now answer 400 with migrate_to_chat_id

    message, seen = await inbox.wait(new, 1)

    assert (seen - due).total_seconds() < ON_TIME
    assert message.text.startswith("⏰ #1 Team lunch\n")
    assert message.callback_data("✅ Done").startswith(f"r:{new}:1:")  # the buttons name the new chat
    assert inbox.reminders(old) == []
    assert await tasks_db.chat(old) is None
    assert (await tasks_db.chat(new)) is not None
    assert [(t.number, t.title) for t in await tasks_db.tasks(new)] == [(1, "Team lunch")]
    listing = await fake.ask(new, "/list all", chat_type="supergroup", user_id=1001)
    assert "#1 Team lunch" in listing.text
    answer = await fake.press(new, message.message_id, message.callback_data("✅ Done"), user_id=1001)
    assert answer.text == "✅ Done."
    assert (await tasks_db.task(new, 1)).done is True


async def test_a_network_error_is_retried_with_backoff_and_delivered_once(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    await fake.ask(CHAT, "/add Back up the laptop | in 1s")
    # PTB turns a 5xx answer into NetworkError
    fake.fail_next("sendMessage", error_code=500, description="Internal Server Error", chat_id=CHAT)

    failed_at = await first_reminder_send(fake, CHAT)
    message, _ = await inbox.wait(CHAT, 1, within=8)
    delivered_at = time.monotonic()

    assert 1.8 <= delivered_at - failed_at < 4.0  # the first backoff is 2 s
    assert message.text.startswith("⏰ #1 Back up the laptop\n")
    task = await tasks_db.wait_task(CHAT, 1, lambda t: t.remind_at is None)
    assert (task.attempts, task.claim_token) == (0, None)
    await fake.expect_no_message(CHAT, within=1.2)
    assert len(inbox.reminders(CHAT)) == 1
    assert len(reminder_sends(fake, CHAT)) == 2


# --- Telegram's rate limits --------------------------------------------------------------------------------


async def test_a_group_gets_at_most_20_reminders_a_minute_and_the_rest_wait_in_the_database(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    group = -100500
    fake.add_chat(group, "group", "Big team")
    titles = [f"Job {i}" for i in range(1, 41)]
    await tasks_db.insert_tasks({group: titles}, now_s() + timedelta(seconds=1), kind="group")

    await inbox.wait(group, 1)
    await asyncio.sleep(2.5)  # a burst of 10, then one every 6 s: at most 20 in any minute

    delivered = inbox.reminders(group)
    assert len(delivered) == 10
    delivered_titles = [m.text.splitlines()[0].split(" ", 2)[2] for m in delivered]
    assert len(set(delivered_titles)) == len(delivered_titles)  # no duplicates
    stored = await tasks_db.tasks(group)
    sent = {t.title for t in stored if t.remind_at is None}
    pending = {t.title for t in stored if t.remind_at is not None and not t.done}
    assert sent == set(delivered_titles)
    assert sent | pending == set(titles) and not sent & pending  # none lost
    # still claimable: unclaimed, or held under a lease that ends (a dispatcher that dies lets go)
    lease_end = datetime.now(UTC) + timedelta(seconds=121)
    assert all(t.claimed_until is None or t.claimed_until <= lease_end for t in stored)


async def test_60_private_chats_all_get_their_reminder_at_no_more_than_30_per_second(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    chats = list(range(10_001, 10_061))
    for chat_id in chats:
        fake.add_chat(chat_id)
    await tasks_db.insert_tasks({c: ["Ping"] for c in chats}, now_s() + timedelta(seconds=1))

    # stamp each send as the fake receives it, from a thread of its own (the bot keeps the event loop busy)
    stamps: list[float] = []
    done = threading.Event()

    def stamp_sends() -> None:
        while not done.is_set():
            received = len(fake.calls_to("sendMessage"))
            stamps.extend([time.monotonic()] * (received - len(stamps)))
            time.sleep(0.0005)

    clock = threading.Thread(target=stamp_sends, daemon=True)
    clock.start()
    try:
        for chat_id in chats:
            await inbox.wait(chat_id, 1, within=10)
    finally:
        done.set()
        clock.join()

    assert [len(inbox.reminders(c)) for c in chats] == [1] * len(chats)
    assert all(inbox.reminders(c)[0].text.startswith("⏰ #1 Ping\n") for c in chats)
    busiest = max(sum(1 for t in stamps[i:] if t - start < 1.0) for i, start in enumerate(stamps))
    assert busiest <= 30, f"{busiest} sends within one second"


# --- one chat's trouble is not another chat's ---------------------------------------------------------------


async def test_a_busy_group_does_not_hold_up_a_private_chats_reminder(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    group, private = -100600, 600
    fake.add_chat(group, "group", "Big team")
    fake.add_chat(private)
    start = now_s() + timedelta(seconds=1)
    await tasks_db.insert_tasks({group: [f"Job {i}" for i in range(1, 23)]}, start, kind="group")
    await tasks_db.insert_tasks({private: ["Call mom"]}, start + timedelta(seconds=1))

    _, seen = await inbox.wait(private, 1, within=6)
    assert (seen - (start + timedelta(seconds=1))).total_seconds() < ON_TIME
    assert len(inbox.reminders(group)) == 10  # the group's burst; the rest wait their turn in the database


async def test_a_chat_with_a_broken_stored_zone_still_gets_reminders_and_so_do_others(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    broken, fine = 700, 701
    fake.add_chat(broken)
    fake.add_chat(fine)
    due = now_s() + timedelta(seconds=1)
    await tasks_db.insert_tasks({broken: ["Odd zone"], fine: ["Normal"]}, due)
    async with tasks_db._sessions() as sessions, sessions.begin() as session:
        await session.execute(update(Chat).where(Chat.id == broken).values(timezone="Mars/Olympus"))

    odd, _ = await inbox.wait(broken, 1)
    normal, _ = await inbox.wait(fine, 1)
    assert odd.text.startswith("⏰ #1 Odd zone\nDue ") and ", UTC" in odd.text.splitlines()[1]
    assert normal.text.startswith("⏰ #1 Normal\n")


async def test_network_errors_do_not_strip_the_reminder_but_repeated_refusals_send_it_plain(
    fake: FakeTelegram, weather_bot: Any, tasks_db: TaskDB, inbox: Inbox
) -> None:
    flaky, refusing = 800, 801
    fake.add_chat(flaky)
    fake.add_chat(refusing)
    fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=3, chat_id=flaky)
    fake.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: message is too long",
        times=3,
        chat_id=refusing,
    )
    await tasks_db.insert_tasks({flaky: ["Flaky"], refusing: ["Refused"]}, now_s() + timedelta(seconds=1))

    # Backoff 2 + 4 + 8 s before the fourth try of each.
    formatted, _ = await inbox.wait(flaky, 1, within=25)
    plain, _ = await inbox.wait(refusing, 1, within=25)
    assert formatted.parse_mode == "HTML" and formatted.button_texts
    assert plain.parse_mode is None and not plain.button_texts
    assert plain.text.startswith("⏰ #1 Refused\nDue ")
