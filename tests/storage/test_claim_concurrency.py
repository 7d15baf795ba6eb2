"""Concurrent dispatchers never claim the same reminder twice and leave none behind.

Each claimer has its own engine and loops `claim_due(limit=10)` → record → `complete` until nothing is
claimable; together they must have claimed (so sent) every due reminder exactly once, and no `complete`
may fail (the leases outlast the test, so a failed one means a reminder was claimed twice).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from storage import repository as repo
from storage.engine import make_engine, make_sessionmaker, upgrade_database
from storage.models import Task
from tests.dbutil import temp_postgres_url, temp_sqlite_url
from tests.storage.claim_worker import run_until_empty

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CHATS = (-1001, -1002, 3)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with temp_postgres_url() as url:
        await upgrade_database(url)
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
        yield url


async def seed(url: str, n: int) -> list[int]:
    """N reminders due now spread over a few chats, plus some that must not be claimed; the due ids."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            for chat_id in CHATS:
                await repo.ensure_chat(session, chat_id=chat_id, kind="group", title=None, timezone="UTC")
            due = [
                {
                    "chat_id": CHATS[i % len(CHATS)],
                    "number": i + 1,
                    "title": f"t{i}",
                    "due_at": NOW - timedelta(seconds=i % 7),
                    "remind_at": NOW - timedelta(seconds=i % 7),
                    "remind_for": NOW - timedelta(seconds=i % 7),
                    "done": False,
                    "created_at": NOW,
                }
                for i in range(n)
            ]
            not_due = [
                {"chat_id": CHATS[0], "number": 10_000, "title": "future", "done": False, "created_at": NOW}
                | {"due_at": NOW + timedelta(minutes=1), "remind_at": NOW + timedelta(minutes=1)},
                {"chat_id": CHATS[0], "number": 10_001, "title": "done", "done": True, "created_at": NOW}
                | {"due_at": NOW, "remind_at": NOW},
            ]
            await session.execute(insert(Task), due + not_due)
            ids = (await session.scalars(select(Task.id).where(Task.number < 10_000))).all()
    finally:
        await engine.dispose()
    return sorted(ids)


async def claimer(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        return await run_until_empty(make_sessionmaker(engine), now=NOW)
    finally:
        await engine.dispose()


async def assert_all_sent_once(url: str, due_ids: list[int], recorded: list[int]) -> None:
    assert sorted(recorded) == due_ids  # no duplicate, nothing missing
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            pending = Task.remind_at.is_not(None) | Task.claim_token.is_not(None)
            left = select(Task.title).where(Task.done.is_(False), pending)
            assert (await session.scalars(left)).all() == ["future"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("k", [1, 2, 4, 16])
@pytest.mark.parametrize("n", [1, 2, 64, 500])
async def test_postgres_concurrent_claimers(pg_url: str, n: int, k: int) -> None:
    due_ids = await seed(pg_url, n)
    results = await asyncio.gather(*(claimer(pg_url) for _ in range(k)))
    await assert_all_sent_once(pg_url, due_ids, [i for ids in results for i in ids])


async def test_postgres_two_processes(pg_url: str) -> None:
    due_ids = await seed(pg_url, 500)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.storage.claim_worker",
            pg_url,
            NOW.isoformat(),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for worker in workers:  # both connected: start them together
        assert worker.stdout is not None
        assert json.loads(await asyncio.wait_for(worker.stdout.readline(), 30)) == {"ready": True}
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 60)
    assert [w.returncode for w in workers] == [0, 0]  # no LostClaimError
    per_worker = [[json.loads(line)["task_id"] for line in out.decode().splitlines()] for out, _ in outputs]
    await assert_all_sent_once(pg_url, due_ids, [i for ids in per_worker for i in ids])


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("n", [1, 64, 500])
async def test_sqlite_concurrent_claimers(sqlite_url: str, n: int, k: int) -> None:
    due_ids = await seed(sqlite_url, n)
    results = await asyncio.gather(*(claimer(sqlite_url) for _ in range(k)))
    await assert_all_sent_once(sqlite_url, due_ids, [i for ids in results for i in ids])
