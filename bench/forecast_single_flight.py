"""The forecast cache: single flight under a burst, and the memory bound of the LRU.

Run by hand from the repository root (never as a test):

    .venv/bin/python bench/forecast_single_flight.py [--callers 500] [--latency 0.1] [--keys 10000]

Part 1 — single flight. `--callers` concurrent `WeatherClient.forecast_at` for one place and hour against the
local FakeOpenMeteo (127.0.0.1), which holds every answer back `--latency` seconds (`FakeOpenMeteo.hang`):

- baseline: the cache out of the way — a fresh WeatherClient per call (sharing one httpx client with the
  shipped pool limits, 20 connections), so every call goes upstream;
- shipped: one WeatherClient, as the bot has (TTL cache + single flight).

Upstream requests are counted by the fake; wall time is from the first call to the last answer. Both use a
30 s call timeout (not the shipped 3 s) so the baseline's queue for the pool does not turn into failures.

Part 2 — memory. `--keys` distinct (lat, lon, hour) keys go through `get_or_fetch` of the forecast cache
of a WeatherClient built with its defaults (`max_entries` 2048); each value is a distinct `Forecast` parsed
from one real FakeOpenMeteo answer (16 days hourly), as the client would cache it — no HTTP per key, so the
run measures the cache and stays short. Reported: entries kept (must be ≤ the bound), tracemalloc peak and
retained memory, and the same per entry projected to an unbounded cache holding every key.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.fakes.open_meteo import FakeOpenMeteo  # noqa: E402
from weather.client import (  # noqa: E402
    CURRENT_VARIABLES,
    DAILY_VARIABLES,
    HOURLY_VARIABLES,
    USER_AGENT,
    WeatherClient,
    WeatherUnavailable,
)
from weather.models import Forecast, parse_forecast  # noqa: E402

MADRID = (40.4168, -3.7038)
CALL_TIMEOUT = 30.0
MiB = 1024 * 1024


@dataclass
class Burst:
    name: str
    upstream: int
    seconds: float
    failed: int


def shipped_pool() -> httpx.AsyncClient:
    """An httpx client with the pool limits WeatherClient gives its own."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(CALL_TIMEOUT, connect=2.0),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30),
        headers={"User-Agent": USER_AGENT},
    )


async def burst(fake: FakeOpenMeteo, name: str, callers: int, latency: float, *, shared_cache: bool) -> Burst:
    when = datetime.now(UTC) + timedelta(hours=2)
    fake.reset()  # forgets the hang too: set it after
    fake.hang(latency)
    async with shipped_pool() as http:
        one = WeatherClient(
            forecast_url=fake.forecast_url, geocoding_url=fake.geocoding_url, http=http, timeout=CALL_TIMEOUT
        )

        async def call() -> bool:
            client = (
                one
                if shared_cache
                else WeatherClient(
                    forecast_url=fake.forecast_url,
                    geocoding_url=fake.geocoding_url,
                    http=http,
                    timeout=CALL_TIMEOUT,
                )
            )
            try:
                return await client.forecast_at(*MADRID, when) is not None
            except WeatherUnavailable:
                return False
            finally:
                if client is not one:
                    await client.aclose()

        before = fake.forecast_requests
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(call() for _ in range(callers)))
        seconds = time.perf_counter() - started
        await one.aclose()
    fake.hang(0)
    return Burst(name, fake.forecast_requests - before, seconds, outcomes.count(False))


@dataclass
class Fill:
    bound: int
    keys: int
    kept: int
    peak: int
    retained: int


def canned_forecast(fake: FakeOpenMeteo) -> bytes:
    """One real forecast answer of the fake (16 days, hourly + daily + current), as bytes."""
    params = {
        "latitude": f"{MADRID[0]:.2f}",
        "longitude": f"{MADRID[1]:.2f}",
        "hourly": HOURLY_VARIABLES,
        "daily": DAILY_VARIABLES,
        "current": CURRENT_VARIABLES,
        "timezone": "UTC",
        "forecast_days": "16",
    }
    response = httpx.get(fake.forecast_url, params=params, timeout=10)
    response.raise_for_status()
    return response.content


async def fill(payload: bytes, keys: int) -> Fill:
    """`keys` distinct (lat, lon, hour) keys into the forecast cache of a default WeatherClient."""
    client = WeatherClient(forecast_url="http://127.0.0.1:9/v1/forecast", geocoding_url="http://127.0.0.1:9/")
    cache = client._forecasts  # the TTLCache the client fills (default max_entries)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    async def fetch() -> Forecast:
        return parse_forecast(json.loads(payload))  # a distinct Forecast per key, as from Open-Meteo

    await cache.get_or_fetch((-89.0, -179.0, hour), fetch)  # warm pydantic outside the measurement
    cache.invalidate((-89.0, -179.0, hour))
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for i in range(keys):
        await cache.get_or_fetch(((i // 100) * 0.01, (i % 100) * 0.01, hour), fetch)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = len(cache)
    await client.aclose()
    return Fill(cache._max_entries, keys, kept, peak - base, current - base)


async def main(args: argparse.Namespace) -> int:
    with FakeOpenMeteo() as fake:
        payload = canned_forecast(fake)
        print(
            f"part 1: {args.callers} concurrent forecast_at, one place and hour, {args.latency * 1000:.0f} ms"
        )
        base = await burst(
            fake, "baseline: no cache (fresh client per call)", args.callers, args.latency, shared_cache=False
        )
        shipped = await burst(
            fake, "shipped: TTL cache + single flight", args.callers, args.latency, shared_cache=True
        )

    print(f"{'run':<44} {'upstream':>8} {'× base':>7} {'wall s':>7} {'× base':>7} {'failed':>6}")
    for b in (base, shipped):
        print(
            f"{b.name:<44} {b.upstream:>8} {b.upstream / base.upstream:>7.3f} "
            f"{b.seconds:>7.2f} {b.seconds / base.seconds:>7.3f} {b.failed:>6}"
        )
    print(f"speed-up of the burst: {base.seconds / shipped.seconds:.1f}×")

    print()
    print(f"part 2: {args.keys} distinct keys into the forecast cache ({len(payload)} B answer each)")
    f = await fill(payload, args.keys)
    per_entry = f.retained / max(f.kept, 1)
    unbounded = per_entry * f.keys
    print(f"max_entries {f.bound}, entries kept {f.kept} (≤ bound: {'yes' if f.kept <= f.bound else 'NO'})")
    print(f"tracemalloc peak {f.peak / MiB:.1f} MiB, retained {f.retained / MiB:.1f} MiB")
    print(
        f"≈ {per_entry / 1024:.0f} KiB per cached forecast → "
        f"bound × that ≈ {f.bound * per_entry / MiB:.0f} MiB"
    )
    print(
        f"vs. an unbounded cache holding all {f.keys} (projected from the per-entry size): "
        f"{unbounded / MiB:.0f} MiB; peak / unbounded = {f.peak / unbounded:.2f}"
    )
    ok = shipped.upstream == 1 and not shipped.failed and not base.failed and f.kept <= f.bound
    print("checks:", "ok" if ok else "FAILED (see the table)")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--callers", type=int, default=500, help="concurrent calls (default 500)")
    parser.add_argument("--latency", type=float, default=0.1, help="upstream latency, s (default 0.1)")
    parser.add_argument("--keys", type=int, default=10_000, help="distinct places to cache (default 10000)")
    cli = parser.parse_args()
    if not (1 <= cli.callers <= 2000 and 0 <= cli.latency <= 1 and 1 <= cli.keys <= 20_000):
        parser.error("need 1 <= callers <= 2000, 0 <= latency <= 1, 1 <= keys <= 20000")
    sys.exit(asyncio.run(main(cli)))
