"""Updates of different chats are handled concurrently; one chat's stay in the order they were sent."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.telegram_api import FakeTelegram

LATENCY = 0.3


async def test_one_chats_updates_keep_their_order_under_latency(fake: FakeTelegram, bot: Any) -> None:
    fake.delay_next("sendMessage", 0.05, times=20)
    for i in range(1, 21):
        fake.send_message(7, f"/add step {i}")
    await fake.wait_for_message(7, after=19, timeout=15)
    firsts = [m.text.splitlines()[0] for m in fake.messages(7)]
    assert firsts == [f"📝 Added #{i} step {i}" for i in range(1, 21)]


async def test_slow_replies_in_one_chat_do_not_hold_up_other_chats(fake: FakeTelegram, bot: Any) -> None:
    chats = list(range(500, 510))
    fake.delay_next("sendMessage", LATENCY, times=len(chats))
    started = time.monotonic()
    for chat_id in chats:
        fake.send_message(chat_id, "/add something")
    for chat_id in chats:
        reply = await fake.wait_for_message(chat_id, timeout=10)
        assert reply.text.startswith("📝 Added #1 something")
    elapsed = time.monotonic() - started
    # One at a time this takes 10 × 0.3 s = 3 s; handled concurrently it takes about one latency.
    assert elapsed < len(chats) * LATENCY / 2, elapsed


async def test_a_flooding_chat_does_not_stall_other_chats(fake: FakeTelegram, bot: Any) -> None:
    busy, other, flood = 600, 601, 80  # more than the 64 updates that may run at once
    fake.delay_next("sendMessage", LATENCY, times=20)  # the busy chat answers one by one, slowly
    for _ in range(flood):
        fake.send_message(busy, "/list")
    fake.send_message(other, "/add Unrelated")
    reply = await fake.wait_for_message(other, timeout=30)
    answered_busy = len(fake.messages(busy))
    assert reply.text.startswith("📝 Added #1 Unrelated")
    # The other chat did not queue behind the busy chat's backlog (waiting updates used to hold every
    # slot, so it had to wait for ~17 of the busy chat's slow replies); only the reply or two being sent
    # when it arrived came first.
    assert answered_busy <= 4, answered_busy
    await fake.wait_for_message(busy, after=flood - 1, timeout=30)
    assert all(m.text.startswith("📋") or "No open tasks" in m.text for m in fake.messages(busy))
