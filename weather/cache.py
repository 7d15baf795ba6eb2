"""A small async TTL cache with LRU eviction and single-flight fetching."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FetchAborted(Exception):
    """The shared fetch a caller waited for was cancelled (the cache was closed), not the caller itself."""


class TTLCache(Generic[K, V]):
    """At most `max_entries` values, each kept `ttl` seconds of `clock`, least recently used evicted first.

    `get_or_fetch` runs one fetch per missing key however many callers ask concurrently. The fetch runs in
    its own task, so a caller cancelled while waiting (say by `asyncio.timeout`) neither cancels it for the
    others nor leaves anything half-done behind; a fetch that fails is not cached.
    """

    def __init__(
        self, *, ttl: float, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl must be > 0 and max_entries >= 1")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._inflight: dict[K, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        """Entries held, some possibly expired but not yet dropped."""
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return self._fresh(key) is not None

    @property
    def inflight(self) -> int:
        """Fetches under way."""
        return len(self._inflight)

    def _fresh(self, key: K) -> tuple[float, V] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def get(self, key: K) -> V | None:
        """The cached value, or None if absent or expired."""
        entry = self._fresh(key)
        return None if entry is None else entry[1]

    def set(self, key: K, value: V) -> None:
        now = self._clock()
        # Expired entries go when a new one arrives, not only when their own key is asked for again:
        # keys that carry the hour are never asked for again once it has passed.
        for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[stale]
        self._entries[key] = (now + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    async def get_or_fetch(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """The cached value, else the result of `fetch()` shared with every concurrent caller for `key`.

        A failed fetch raises its error to all of them. Raises FetchAborted if the cache is closed meanwhile.
        """
        entry = self._fresh(key)
        if entry is not None:
            return entry[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._fill(key, fetch), name=f"cache fill {key!r}")
            task.add_done_callback(_consume_exception)
            self._inflight[key] = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if task.cancelled() and (me is None or me.cancelling() == 0):
                raise FetchAborted(f"fetch of {key!r} was cancelled") from None
            raise

    async def _fill(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await fetch()
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]
        self.set(key, value)
        return value

    async def aclose(self) -> None:
        """Cancel the fetches under way (their waiters get FetchAborted) and drop every entry."""
        tasks = list(self._inflight.values())
        self._inflight.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._entries.clear()


def _consume_exception(task: asyncio.Task[object]) -> None:
    # When every waiter gave up, nobody else retrieves a failure; spare the "never retrieved" log noise.
    if not task.cancelled():
        task.exception()
