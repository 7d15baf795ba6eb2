"""The reminder dispatcher's queries: claim due reminders under a lease, then complete or release them.

A reminder is pending while its task is open and `remind_at` is set; it is claimable once `remind_at`
has passed, its chat is active and no lease (or backoff) is running (`claimed_until` is NULL or past).
Claiming writes a random token and a lease end; only the holder of the token can `complete` or
`release` it, so a dispatcher whose lease ran out (and whose reminder someone else claimed) changes
nothing, and a dispatcher that crashed leaves a lease that simply ends. Delivery is at least once: a
dispatcher that sends and then dies before `complete` commits leaves the reminder to be sent again
when its lease ends.

Every function takes the session first and keyword arguments after it; the caller owns the transaction.
On SQLite run `claim_due` (and best also `complete` and `release`) in a `BEGIN IMMEDIATE` transaction::

    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        claimed = await claim_due(session, now=now, lease=lease, limit=10, token=token)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, Task


class Keep(Enum):
    KEEP = "KEEP"


KEEP: Final = Keep.KEEP
"""The default of `complete`'s `due_at`: leave the task's due time as it is."""


@dataclass(frozen=True)
class ClaimedReminder:
    """A reminder this dispatcher holds the lease on, with what sending it needs."""

    task_id: int
    chat_id: int
    number: int
    title: str
    due_at: datetime | None
    remind_for: datetime | None
    rule: str | None
    place: str | None
    place_latitude: float | None
    place_longitude: float | None
    place_timezone: str | None
    chat_timezone: str
    chat_place_name: str | None
    chat_latitude: float | None
    chat_longitude: float | None
    claim_token: str
    attempts: int
    refusals: int = 0
    remind_at: datetime | None = None  # when it was scheduled to go out (a snooze moves it, not remind_for)


def _pending() -> tuple[ColumnElement[bool], ...]:
    """Open tasks with a reminder set, in an active chat (the query must join chats)."""
    return (Task.remind_at.is_not(None), Task.done.is_(False), Chat.active.is_(True))


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    token: str,
    stale_before: datetime | None = None,
    fresh_only_after: datetime | None = None,
) -> list[ClaimedReminder]:
    """Claim up to `limit` due reminders (earliest `remind_at` first) under `token` until `now + lease`.

    Due: open task, `remind_at <= now`, chat active, no running lease or backoff. `stale_before` keeps
    only reminders scheduled (`remind_at`) before it, `fresh_only_after` only those at or after it: a
    snoozed reminder is as old as its snooze, not as its occurrence.

    On PostgreSQL rows locked by a concurrent claim are skipped (`FOR UPDATE SKIP LOCKED`), so claimers
    never block each other or claim the same reminder. On SQLite the caller must run this in a
    `BEGIN IMMEDIATE` transaction (see the module docstring): that serializes claimers on the write lock.
    """
    if limit <= 0:
        return []
    scheduled = Task.remind_at
    due = (
        select(Task.id)
        .join(Chat, Chat.id == Task.chat_id)
        .where(
            *_pending(),
            Task.remind_at <= now,
            or_(Task.claimed_until.is_(None), Task.claimed_until <= now),
        )
        .order_by(Task.remind_at, Task.id)
        .limit(limit)
    )
    if stale_before is not None:
        due = due.where(scheduled < stale_before)
    if fresh_only_after is not None:
        due = due.where(scheduled >= fresh_only_after)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=Task, skip_locked=True)
    claim = (
        update(Task)
        .where(Task.id.in_(due))
        .values(claim_token=token, claimed_until=now + lease)
        .returning(
            Task.id,
            Task.chat_id,
            Task.number,
            Task.title,
            Task.due_at,
            Task.remind_at,
            Task.remind_for,
            Task.rule,
            Task.place,
            Task.place_latitude,
            Task.place_longitude,
            Task.place_timezone,
            Task.attempts,
            Task.refusals,
        )
    )
    rows = (await session.execute(claim, execution_options={"synchronize_session": "fetch"})).all()
    if not rows:
        return []
    # SQLite's RETURNING cannot name a joined table: the chats come from a second query (same transaction).
    chat_query = select(Chat.id, Chat.timezone, Chat.place_name, Chat.latitude, Chat.longitude).where(
        Chat.id.in_({row.chat_id for row in rows})
    )
    chats = {chat.id: chat for chat in (await session.execute(chat_query)).all()}
    claimed = []
    for row in sorted(rows, key=lambda r: (r.remind_at, r.id)):
        chat = chats[row.chat_id]
        claimed.append(
            ClaimedReminder(
                task_id=row.id,
                chat_id=row.chat_id,
                number=row.number,
                title=row.title,
                due_at=row.due_at,
                remind_for=row.remind_for,
                rule=row.rule,
                place=row.place,
                place_latitude=row.place_latitude,
                place_longitude=row.place_longitude,
                place_timezone=row.place_timezone,
                chat_timezone=chat.timezone,
                chat_place_name=chat.place_name,
                chat_latitude=chat.latitude,
                chat_longitude=chat.longitude,
                claim_token=token,
                attempts=row.attempts,
                refusals=row.refusals,
                remind_at=row.remind_at,
            )
        )
    return claimed


async def _update_claimed(session: AsyncSession, *, task_id: int, token: str, **values: Any) -> bool:
    stmt = (
        update(Task).where(Task.id == task_id, Task.claim_token == token).values(**values).returning(Task.id)
    )
    result = await session.execute(stmt, execution_options={"synchronize_session": "fetch"})
    return result.first() is not None


async def complete(
    session: AsyncSession,
    *,
    task_id: int,
    token: str,
    remind_at: datetime | None,
    remind_for: datetime | None,
    due_at: datetime | Keep | None = KEEP,
) -> bool:
    """After a sent reminder: set the next one (None for none) and, unless KEEP, a new due time.

    Clears the claim and the failure count. False (and nothing changed) if `token` no longer holds the
    claim: the lease ran out and another dispatcher claimed it, or the task was changed meanwhile.
    """
    values: dict[str, Any] = {
        "remind_at": remind_at,
        "remind_for": remind_for,
        "claimed_until": None,
        "claim_token": None,
        "attempts": 0,
        "refusals": 0,
    }
    if not isinstance(due_at, Keep):
        values["due_at"] = due_at
    return await _update_claimed(session, task_id=task_id, token=token, **values)


async def renew(session: AsyncSession, *, task_id: int, token: str, until: datetime) -> bool:
    """Extend a held claim's lease to `until`; False (and nothing changed) if `token` no longer holds it."""
    return await _update_claimed(session, task_id=task_id, token=token, claimed_until=until)


async def release(
    session: AsyncSession,
    *,
    task_id: int,
    token: str,
    retry_at: datetime,
    failed: bool = True,
    refused: bool = False,
) -> bool:
    """After an unsent reminder: give the claim up, not claimable before `retry_at`. `failed` counts one
    more failure (for backoff); `refused` one more bad-request refusal in a row (any other outcome resets
    that count).

    False (and nothing changed) if `token` no longer holds the claim.
    """
    return await _update_claimed(
        session,
        task_id=task_id,
        token=token,
        claim_token=None,
        claimed_until=retry_at,
        attempts=Task.attempts + 1 if failed else Task.attempts,
        refusals=Task.refusals + 1 if refused else 0,
    )


async def next_wakeup(session: AsyncSession) -> datetime | None:
    """The earliest moment a pending reminder of an active chat becomes claimable; None if none is pending.

    That is its `remind_at`, or the end of its lease or backoff if later; it may be in the past.
    """
    claimable_at = case(
        (
            Task.claimed_until.is_not(None) & (Task.claimed_until > Task.remind_at),
            Task.claimed_until,
        ),
        else_=Task.remind_at,
    )
    stmt = select(func.min(claimable_at)).join(Chat, Chat.id == Task.chat_id).where(*_pending())
    result: datetime | None = (await session.execute(stmt)).scalar_one()
    return result


async def get_task_by_id(session: AsyncSession, *, task_id: int) -> Task | None:
    """The task with this id (any chat), or None."""
    return await session.get(Task, task_id)
