from __future__ import annotations

import asyncio

import pytest

from weather import FetchAborted, TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A fetch factory counting its calls, optionally slow or failing."""

    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.calls = 0
        self.delay = delay
        self.error = error

    async def __call__(self) -> int:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.calls


async def test_entries_expire_after_ttl() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=60, clock=clock)
    source = Source()
    assert await cache.get_or_fetch("k", source) == 1
    clock.now += 59.9
    assert await cache.get_or_fetch("k", source) == 1
    clock.now += 0.1
    assert "k" not in cache
    assert await cache.get_or_fetch("k", source) == 2
    assert source.calls == 2


async def test_least_recently_used_is_evicted() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60, max_entries=2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # a is now more recent than b
    cache.set("c", 3)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


async def test_expired_entries_are_dropped_when_a_new_one_arrives() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=1, max_entries=10, clock=clock)
    cache.set("old hour", 1)
    clock.now += 2
    cache.set("new hour", 2)
    assert len(cache) == 1
    assert cache.get("new hour") == 2


async def test_concurrent_misses_share_one_fetch() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source(delay=0.01)
    results = await asyncio.gather(*(cache.get_or_fetch("k", source) for _ in range(200)))
    assert results == [1] * 200
    assert source.calls == 1
    assert cache.inflight == 0


async def test_failed_fetch_reaches_all_waiters_and_is_not_cached() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source(delay=0.01, error=RuntimeError("upstream down"))
    results = await asyncio.gather(
        *(cache.get_or_fetch("k", source) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert source.calls == 1
    source.error = None
    assert await cache.get_or_fetch("k", source) == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source(delay=0.1)
    patient = asyncio.create_task(cache.get_or_fetch("k", source))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await cache.get_or_fetch("k", source)
    assert await patient == 1
    assert cache.get("k") == 1
    assert source.calls == 1


async def test_fetch_completes_even_if_every_waiter_gave_up() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source(delay=0.05)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await cache.get_or_fetch("k", source)
    assert await cache.get_or_fetch("k", source) == 1  # joins the fetch still under way
    assert source.calls == 1


async def test_closing_aborts_waiters() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    waiter = asyncio.create_task(cache.get_or_fetch("k", Source(delay=10)))
    await asyncio.sleep(0)
    await cache.aclose()
    with pytest.raises(FetchAborted):
        await waiter


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        TTLCache(ttl=0)
    with pytest.raises(ValueError):
        TTLCache(ttl=1, max_entries=0)
