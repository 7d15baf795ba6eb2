"""A reminder dispatcher stand-in for the cross-process claim test; run as a module.

    python -m tests.storage.claim_worker URL NOW_ISO

Connects with its own engine, prints `{"ready": true}`, waits for a line on stdin, then claims and
completes reminders (10 at a time) until none is left, printing `{"task_id": N}` for each it claimed
(the reminders it would have sent). Exits non-zero if it lost a claim while its lease still ran: that
means another claimer took the same reminder, i.e. it would have been sent twice.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import reminders
from storage.engine import SQLITE_BEGIN, make_engine, make_sessionmaker

LEASE = timedelta(minutes=5)
BATCH = 10


class LostClaimError(AssertionError):
    """`complete` failed although the lease had not run out: someone else claimed the reminder too."""


async def claim_and_complete(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, token: str
) -> list[int] | None:
    """Claim one batch and complete it; the ids claimed, or None when nothing was claimable."""
    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        claimed = await reminders.claim_due(session, now=now, lease=LEASE, limit=BATCH, token=token)
    if not claimed:
        return None
    ids = [reminder.task_id for reminder in claimed]  # "sent"
    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        for task_id in ids:
            if not await reminders.complete(
                session, task_id=task_id, token=token, remind_at=None, remind_for=None
            ):
                raise LostClaimError(f"Lost the claim on task {task_id} within its lease")
    return ids


async def run_until_empty(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> list[int]:
    """The ids this claimer claimed (and so would have sent), in order."""
    claimed: list[int] = []
    while (batch := await claim_and_complete(sessions, now=now, token=str(uuid.uuid4()))) is not None:
        claimed.extend(batch)
    return claimed


async def main(url: str, now: datetime) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:  # connected before the start signal
            await conn.execute(text("SELECT 1"))
        print(json.dumps({"ready": True}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        sessions = make_sessionmaker(engine)
        for task_id in await run_until_empty(sessions, now=now):
            print(json.dumps({"task_id": task_id}), flush=True)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], datetime.fromisoformat(sys.argv[2])))
