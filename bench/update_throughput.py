"""Updates per second of the real bot when every sendMessage takes 50 ms, sequential vs per-chat concurrent.

Run by hand from the repository root (never as a test):

    .venv/bin/python bench/update_throughput.py [--updates 400] [--chats 50] [--single 150] [--latency 0.05]

The real bot (`bot.runtime.running`: PTB Application, handlers, services, SQLite in a temp dir) polls the
local FakeTelegram on 127.0.0.1; every sendMessage answers only after `--latency` seconds
(`FakeTelegram.delay_next`). Each run injects plain `/add` messages (no due time, no place) and measures from
the first injection to the last reply. Rows, all in the same process and run:

- baseline: the same Application with concurrent updates off (its update processor swapped for PTB's
  `SimpleUpdateProcessor(1)` here, in the bench): one update at a time, `--updates` over `--chats` chats.
- shipped: the bot as built by `build_application` (PerChatOrderedProcessor), same load.
- single chat: the shipped bot, `--single` updates in one chat; per-chat order makes it sequential.
- diagnostic (not a shipped configuration): the shipped bot with its AIORateLimiter removed, to show how much
  of the ceiling is the 30 messages/s overall send limit rather than the bot.

Every run checks that each chat's replies name its tasks #1, #2, ... in the order the messages were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telegram.ext import SimpleUpdateProcessor  # noqa: E402

import bot.runtime  # noqa: E402
from bot.app import MAX_CONCURRENT_UPDATES  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

UNREACHABLE = "http://127.0.0.1:9/"  # the weather is never asked for by a plain /add
WARMUP_CHAT = 999_999
FIRST_CHAT = 10_000
Tweak = Callable[[Any], None]


@dataclass
class Result:
    name: str
    updates: int
    chats: int
    seconds: float
    ordered: bool

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def sequential(application: Any) -> None:
    """Concurrent updates off: PTB awaits each update before taking the next one."""
    application._update_processor = SimpleUpdateProcessor(1)


def no_rate_limiter(application: Any) -> None:
    """Diagnostic only: send without AIORateLimiter (30 messages/s overall)."""
    application.bot._rate_limiter = None


@contextlib.contextmanager
def built_with(tweak: Tweak | None) -> Iterator[None]:
    """Have `running()` build the real Application, then apply `tweak` to it before it starts."""
    original = bot.runtime.build_application
    if tweak is None:
        yield
        return

    def build(*args: Any, **kwargs: Any) -> Any:
        application = original(*args, **kwargs)
        tweak(application)
        return application

    bot.runtime.build_application = build
    try:
        yield
    finally:
        bot.runtime.build_application = original


def settings_for(fake: FakeTelegram, db_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=fake.token,
        telegram_api_base_url=fake.base_url,
        database_url=f"sqlite+aiosqlite:///{db_dir / 'taskcast.db'}",
        weather_api_url=UNREACHABLE,
        geocoding_api_url=UNREACHABLE,
        default_timezone="UTC",
        allowed_chat_ids=frozenset(),
        log_level="WARNING",
    )


def title(chat: int, k: int) -> str:
    return f"c{chat}-m{k}"


async def run(
    fake: FakeTelegram,
    name: str,
    *,
    updates: int,
    chats: int,
    latency: float,
    tweak: Tweak | None,
) -> Result:
    fake.reset()
    chat_ids = [FIRST_CHAT + i for i in range(chats)]
    per_chat = {c: 0 for c in chat_ids}
    plan: list[tuple[int, int]] = []  # (chat, k): round-robin over the chats, k-th message of that chat
    for i in range(updates):
        chat = chat_ids[i % chats]
        plan.append((chat, per_chat[chat]))
        per_chat[chat] += 1
    budget = 15 + updates * (latency + 0.05) * 1.5  # generous: a sequential run plus slack

    with tempfile.TemporaryDirectory(prefix="taskcast-bench-") as tmp, built_with(tweak):
        async with bot.runtime.running(settings_for(fake, Path(tmp)), poll_timeout=1):
            # warm-up (not timed, no injected latency): connections, the first session, the handlers
            fake.send_message(WARMUP_CHAT, "/add warm-up")
            await fake.wait_for_message(WARMUP_CHAT, timeout=15)

            fake.delay_next("sendMessage", latency, times=updates)
            started = time.perf_counter()
            for chat, k in plan:
                fake.send_message(chat, f"/add {title(chat, k)}")
            # block a thread on the fake's condition, so the bench does not poll on the bot's event loop
            for chat in chat_ids:
                await asyncio.to_thread(
                    fake.wait_for_message_sync, chat, after=per_chat[chat] - 1, timeout=budget
                )
            seconds = time.perf_counter() - started

    ordered = True
    for chat in chat_ids:
        got = [m.text for m in fake.messages(chat)]
        want = [f"#{k + 1} {title(chat, k)}" for k in range(per_chat[chat])]
        if len(got) != len(want) or any(w not in g for g, w in zip(got, want, strict=False)):
            ordered = False
            print(f"  ORDER BROKEN in chat {chat}: first replies {got[:3]!r}", file=sys.stderr)
    return Result(name, updates, chats, seconds, ordered)


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    runs: list[tuple[str, int, int, Tweak | None]] = [
        ("baseline: sequential (concurrent updates off)", args.updates, args.chats, sequential),
        (f"shipped: per-chat ordered, {MAX_CONCURRENT_UPDATES} max", args.updates, args.chats, None),
        ("single chat, shipped", args.single, 1, None),
        ("diagnostic: shipped minus AIORateLimiter", args.updates, args.chats, no_rate_limiter),
    ]
    results: list[Result] = []
    with FakeTelegram() as fake:
        for name, updates, chats, tweak in runs:
            print(f"running {name} ({updates} updates, {chats} chats) ...", flush=True)
            results.append(
                await run(fake, name, updates=updates, chats=chats, latency=args.latency, tweak=tweak)
            )

    base = results[0].rate
    print()
    print(f"sendMessage latency {args.latency * 1000:.0f} ms; updates/s from first injection to last reply")
    print(f"{'run':<48} {'updates':>7} {'chats':>5} {'secs':>6} {'upd/s':>7} {'× base':>7} ordered")
    for r in results:
        print(
            f"{r.name:<48} {r.updates:>7} {r.chats:>5} {r.seconds:>6.2f} {r.rate:>7.1f} "
            f"{r.rate / base:>7.2f} {'yes' if r.ordered else 'NO'}"
        )
    return 0 if all(r.ordered for r in results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--updates", type=int, default=400, help="updates over --chats chats (default 400)")
    parser.add_argument("--chats", type=int, default=50, help="chats for the multi-chat runs (default 50)")
    parser.add_argument(
        "--single", type=int, default=150, help="updates in the single-chat run (default 150)"
    )
    parser.add_argument("--latency", type=float, default=0.05, help="sendMessage latency, s (default 0.05)")
    cli = parser.parse_args()
    if not (1 <= cli.chats <= cli.updates <= 2000 and 1 <= cli.single <= 2000 and 0 <= cli.latency <= 1):
        parser.error("need 1 <= chats <= updates <= 2000, 1 <= single <= 2000, 0 <= latency <= 1")
    sys.exit(asyncio.run(main(cli)))
