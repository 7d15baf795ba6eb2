"""Concurrent update processing that keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's `process_update` (final) takes a slot of the base class's semaphore before calling
# `do_process_update`, so an update waiting for its chat's turn would hold a slot. That semaphore is made
# effectively unlimited; the real limit is `_slots` below, taken only once it is the update's turn.
_UNLIMITED = sys.maxsize


class PerChatOrderedProcessor(BaseUpdateProcessor):
    """Different chats' updates run concurrently; one chat's run one at a time, in arrival order.

    At most `max_concurrent_updates` updates run at once. An update waits for its chat's turn first and
    for a running slot second, so a busy chat's backlog holds at most one slot and never stalls other
    chats. asyncio.Lock wakes its waiters first-in first-out, so a chat's updates keep the order in which
    the Application handed them over. `max_concurrent_updates` (PTB's property) reports PTB's own,
    unlimited, number of updates handed over at once; `limit` is the bound on updates running.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("`max_concurrent_updates` must be a positive integer!")
        super().__init__(_UNLIMITED)
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # chat -> updates holding or awaiting its lock

    @property
    def limit(self) -> int:
        """The most updates that run at once."""
        return self._limit

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        started = False
        try:
            if chat is None:
                async with self._slots:
                    started = True
                    await coroutine
                return
            lock = self._locks.setdefault(chat.id, asyncio.Lock())
            self._users[chat.id] = self._users.get(chat.id, 0) + 1
            try:
                async with lock, self._slots:
                    started = True
                    await coroutine
            finally:
                self._users[chat.id] -= 1
                if not self._users[chat.id]:
                    del self._users[chat.id]
                    del self._locks[chat.id]
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: don't leave a never-awaited coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
