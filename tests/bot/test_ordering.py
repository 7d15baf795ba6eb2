"""PerChatOrderedProcessor on its own: per-chat order, overlap across chats, the running bound."""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from telegram import Chat, Message, Update

from bot.ordering import PerChatOrderedProcessor

WAIT = 5.0  # seconds; only reached when the processor is broken


def update_in(chat_id: int, update_id: int = 1) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat))


def submit(processor: PerChatOrderedProcessor, update: object, coroutine: Any) -> asyncio.Task[None]:
    """Hand an update over as the Application does: one task per update, in arrival order."""
    return asyncio.create_task(processor.process_update(update, coroutine))


class Tracker:
    """Records which updates run, and how many run at once (overall and per chat)."""

    def __init__(self) -> None:
        self.started: list[tuple[int, int]] = []
        self.running: Counter[int] = Counter()
        self.peak = 0
        self.peak_per_chat = 0

    async def run(self, chat_id: int, n: int, hold: asyncio.Event | float = 0.0) -> None:
        self.started.append((chat_id, n))
        self.running[chat_id] += 1
        self.peak = max(self.peak, self.running.total())
        self.peak_per_chat = max(self.peak_per_chat, self.running[chat_id])
        try:
            if isinstance(hold, asyncio.Event):
                await asyncio.wait_for(hold.wait(), WAIT)
            else:
                await asyncio.sleep(hold)
        finally:
            self.running[chat_id] -= 1


async def test_each_chats_updates_run_one_at_a_time_in_arrival_order() -> None:
    processor = PerChatOrderedProcessor(8)
    tracker = Tracker()
    tasks = [
        submit(processor, update_in(chat_id), tracker.run(chat_id, n, 0.001 * ((n * 7 + chat_id) % 5)))
        for n in range(30)
        for chat_id in (1, 2, 3)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    for chat_id in (1, 2, 3):
        assert [n for c, n in tracker.started if c == chat_id] == list(range(30))
    assert tracker.peak_per_chat == 1
    assert tracker.peak > 1  # the chats did overlap
    assert not processor._locks and not processor._users  # idle chats are forgotten


async def test_different_chats_run_at_the_same_time() -> None:
    processor = PerChatOrderedProcessor(4)
    one_started, two_started = asyncio.Event(), asyncio.Event()

    async def meet(mine: asyncio.Event, other: asyncio.Event) -> None:
        mine.set()
        await asyncio.wait_for(other.wait(), WAIT)  # times out unless the other chat runs meanwhile

    await asyncio.gather(
        submit(processor, update_in(1), meet(one_started, two_started)),
        submit(processor, update_in(2), meet(two_started, one_started)),
    )


async def test_no_more_than_the_limit_run_at_once() -> None:
    processor = PerChatOrderedProcessor(3)
    assert processor.limit == 3
    tracker = Tracker()
    release = asyncio.Event()
    tasks = [submit(processor, update_in(chat_id), tracker.run(chat_id, 0, release)) for chat_id in range(10)]
    tasks += [submit(processor, object(), tracker.run(-n, 0, release)) for n in range(1, 4)]  # no chat
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(tracker.started) == 3
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert len(tracker.started) == 13
    assert tracker.peak == 3


async def test_a_busy_chats_backlog_does_not_take_the_slots_of_other_chats() -> None:
    processor = PerChatOrderedProcessor(2)
    tracker = Tracker()
    release_busy = asyncio.Event()
    backlog = [submit(processor, update_in(1, n), tracker.run(1, n, release_busy)) for n in range(10)]
    other = submit(processor, update_in(2), tracker.run(2, 0))
    await asyncio.wait_for(other, WAIT)  # stalls if chat 1's waiting updates hold every slot
    assert [n for c, n in tracker.started if c == 1] == [0]
    release_busy.set()
    await asyncio.wait_for(asyncio.gather(*backlog), WAIT)
    assert [n for c, n in tracker.started if c == 1] == list(range(10))


async def test_an_update_cancelled_while_waiting_for_its_turn_is_closed_and_forgotten() -> None:
    processor = PerChatOrderedProcessor(4)
    release = asyncio.Event()
    first = submit(processor, update_in(1), asyncio.wait_for(release.wait(), WAIT))
    waiting = Tracker().run(1, 1)
    second = submit(processor, update_in(1), waiting)
    await asyncio.sleep(0.01)
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert inspect.getcoroutinestate(waiting) == inspect.CORO_CLOSED
    release.set()
    await first
    assert not processor._locks and not processor._users
