from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Integer,
    String,
    column,
    insert,
    inspect,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import reminders
from storage import repository as repo
from storage.engine import (
    SQLITE_BEGIN,
    downgrade_database,
    make_engine,
    make_sessionmaker,
    upgrade_database,
)
from storage.models import Base, Chat, Draft, Task
from storage.reminders import KEEP, ClaimedReminder
from storage.types import UTCDateTime

Sessions = async_sessionmaker[AsyncSession]

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
CHAT_A = -1001234567890
CHAT_B = 42


async def add_chat(sessions: Sessions, chat_id: int, *, timezone: str = "Europe/Berlin") -> None:
    async with sessions.begin() as session:
        await repo.ensure_chat(session, chat_id=chat_id, kind="private", title=None, timezone=timezone)


async def add_task(
    sessions: Sessions, chat_id: int, title: str = "task", *, due_at: datetime | None = None
) -> Task:
    async with sessions.begin() as session:
        return await repo.create_task(
            session,
            chat_id=chat_id,
            title=title,
            due_at=due_at,
            rule=None,
            place=None,
            created_by=None,
            now=NOW - timedelta(days=30),
        )


async def load(sessions: Sessions, chat_id: int, number: int) -> Task:
    async with sessions() as session:
        task = await repo.get_task(session, chat_id=chat_id, number=number)
    assert task is not None
    return task


async def claim(
    sessions: Sessions,
    *,
    now: datetime = NOW,
    limit: int = 100,
    token: str | None = None,
    stale_before: datetime | None = None,
    fresh_only_after: datetime | None = None,
) -> list[ClaimedReminder]:
    """The documented pattern: a `BEGIN IMMEDIATE` transaction (PostgreSQL ignores the option)."""
    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        return await reminders.claim_due(
            session,
            now=now,
            lease=LEASE,
            limit=limit,
            token=token or str(uuid.uuid4()),
            stale_before=stale_before,
            fresh_only_after=fresh_only_after,
        )


def reminder_state(task: Task) -> tuple[object, ...]:
    return (task.remind_at, task.remind_for, task.claimed_until, task.claim_token, task.attempts)


# Column maintenance by the repository


async def test_create_sets_reminder_and_place(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    dated = await add_task(sessionmaker, CHAT_A, due_at=NOW)
    undated = await add_task(sessionmaker, CHAT_A)
    assert reminder_state(dated) == (NOW, NOW, None, None, 0)
    assert reminder_state(undated) == (None, None, None, None, 0)
    async with sessionmaker.begin() as session:
        placed = await repo.create_task(
            session,
            chat_id=CHAT_A,
            title="hike",
            due_at=None,
            rule=None,
            place="Zermatt",
            created_by=None,
            now=NOW,
            place_latitude=46.02,
            place_longitude=7.75,
            place_timezone="Europe/Zurich",
        )
    stored = await load(sessionmaker, CHAT_A, placed.number)
    assert (stored.place, stored.place_latitude, stored.place_longitude, stored.place_timezone) == (
        "Zermatt",
        46.02,
        7.75,
        "Europe/Zurich",
    )
    assert reminder_state(await load(sessionmaker, CHAT_A, 1)) == (NOW, NOW, None, None, 0)


async def test_set_due_resets_reminder_and_claim(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    [held] = await claim(sessionmaker)
    later = NOW + timedelta(days=1)
    async with sessionmaker.begin() as session:
        task = await repo.set_task_due(session, chat_id=CHAT_A, number=1, due_at=later, rule=None)
        assert task is not None and reminder_state(task) == (later, later, None, None, 0)
    async with sessionmaker.begin() as session:
        # The dispatcher that held the old reminder cannot overwrite the new one.
        assert not await reminders.complete(
            session, task_id=held.task_id, token=held.claim_token, remind_at=None, remind_for=None
        )
    assert reminder_state(await load(sessionmaker, CHAT_A, 1)) == (later, later, None, None, 0)

    async with sessionmaker.begin() as session:
        cleared = await repo.set_task_due(session, chat_id=CHAT_A, number=1, due_at=None, rule=None)
        assert cleared is not None and reminder_state(cleared) == (None, None, None, None, 0)


async def test_done_and_reopen(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    future, past = NOW + timedelta(hours=1), NOW - timedelta(hours=1)
    await add_task(sessionmaker, CHAT_A, due_at=future)  # 1
    await add_task(sessionmaker, CHAT_A, due_at=past)  # 2
    await add_task(sessionmaker, CHAT_A)  # 3
    [held] = await claim(sessionmaker)
    assert held.number == 2

    async with sessionmaker.begin() as session:
        for number in (1, 2, 3):
            done = await repo.set_task_done(session, chat_id=CHAT_A, number=number, done=True, now=NOW)
            assert done is not None and done.done
            assert (done.remind_at, done.claimed_until, done.claim_token, done.attempts) == (
                None,
                None,
                None,
                0,
            )
    async with sessionmaker.begin() as session:
        assert not await reminders.complete(
            session, task_id=held.task_id, token=held.claim_token, remind_at=NOW, remind_for=NOW
        )
        # Marking a done task done again keeps it without a reminder.
        again = await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=True, now=NOW)
        assert again is not None and again.remind_at is None

    async with sessionmaker.begin() as session:
        for number in (1, 2, 3):
            assert await repo.set_task_done(session, chat_id=CHAT_A, number=number, done=False, now=NOW)
    assert reminder_state(await load(sessionmaker, CHAT_A, 1)) == (future, future, None, None, 0)
    # Reopened overdue: no late reminder.
    assert reminder_state(await load(sessionmaker, CHAT_A, 2))[:2] == (None, None)
    assert reminder_state(await load(sessionmaker, CHAT_A, 3)) == (None, None, None, None, 0)

    # Reopening an open task leaves its (snoozed) reminder alone.
    snoozed = NOW + timedelta(hours=5)
    async with sessionmaker.begin() as session:
        await repo.snooze_task(session, chat_id=CHAT_A, number=1, remind_at=snoozed, remind_for=future)
        await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=False, now=NOW)
    assert reminder_state(await load(sessionmaker, CHAT_A, 1))[:2] == (snoozed, future)


async def test_set_due_on_done_task_sets_no_reminder(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    later = NOW + timedelta(days=1)
    async with sessionmaker.begin() as session:
        await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=True, now=NOW)
        task = await repo.set_task_due(session, chat_id=CHAT_A, number=1, due_at=later, rule=None)
        assert task is not None and (task.due_at, task.remind_at) == (later, None)
        reopened = await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=False, now=NOW)
        assert reopened is not None and reopened.remind_at == later


async def test_snooze(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    [first, _] = await claim(sessionmaker)
    later = NOW + timedelta(minutes=10)
    async with sessionmaker.begin() as session:
        snoozed = await repo.snooze_task(session, chat_id=CHAT_A, number=1, remind_at=later, remind_for=NOW)
        assert snoozed is not None and reminder_state(snoozed) == (later, NOW, None, None, 0)
        assert snoozed.due_at == NOW
        # Not for a done task, an unknown one, or another chat's.
        await repo.set_task_done(session, chat_id=CHAT_A, number=2, done=True, now=NOW)
        assert (
            await repo.snooze_task(session, chat_id=CHAT_A, number=2, remind_at=later, remind_for=NOW) is None
        )
        assert (
            await repo.snooze_task(session, chat_id=CHAT_A, number=9, remind_at=later, remind_for=NOW) is None
        )
        assert (
            await repo.snooze_task(session, chat_id=CHAT_B, number=1, remind_at=later, remind_for=NOW) is None
        )
        assert not await reminders.complete(
            session, task_id=first.task_id, token=first.claim_token, remind_at=None, remind_for=None
        )
    assert (await load(sessionmaker, CHAT_A, 2)).remind_at is None
    assert await claim(sessionmaker, now=later - timedelta(seconds=1)) == []
    [again] = await claim(sessionmaker, now=later)
    assert (again.number, again.remind_for, again.due_at) == (1, NOW, NOW)


async def test_chat_active_and_place(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    async with sessionmaker.begin() as session:
        await repo.set_chat_active(session, chat_id=CHAT_A, active=False)
        await repo.set_chat_place(
            session, chat_id=CHAT_A, place_name="Oslo", latitude=59.91, longitude=10.75, timezone=None
        )
    async with sessionmaker() as session:
        chat = await repo.get_chat(session, chat_id=CHAT_A)
        assert chat is not None
        assert (chat.active, chat.place_name, chat.latitude, chat.longitude, chat.timezone) == (
            False,
            "Oslo",
            59.91,
            10.75,
            "Europe/Berlin",
        )
        assert await reminders.next_wakeup(session) is None
    assert await claim(sessionmaker) == []

    async with sessionmaker.begin() as session:
        await repo.set_chat_active(session, chat_id=CHAT_A, active=True)
        await repo.set_chat_place(
            session,
            chat_id=CHAT_A,
            place_name="Tokyo",
            latitude=35.68,
            longitude=139.69,
            timezone="Asia/Tokyo",
        )
        task = await repo.set_task_place(
            session, chat_id=CHAT_A, number=1, place="Kyoto", latitude=35.01, longitude=135.77, timezone=None
        )
        assert task is not None
        assert (
            await repo.set_task_place(
                session, chat_id=CHAT_B, number=1, place="x", latitude=None, longitude=None, timezone=None
            )
            is None
        )
    [got] = await claim(sessionmaker)
    assert (got.chat_timezone, got.chat_place_name, got.chat_latitude, got.chat_longitude) == (
        "Asia/Tokyo",
        "Tokyo",
        35.68,
        139.69,
    )
    assert (got.place, got.place_latitude, got.place_longitude, got.place_timezone) == (
        "Kyoto",
        35.01,
        135.77,
        None,
    )


# Claiming


async def test_claim_only_due_open_active_unclaimed_in_order(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B, timezone="Asia/Tokyo")
    await add_chat(sessionmaker, 7)
    await add_task(sessionmaker, CHAT_A, "later", due_at=NOW + timedelta(seconds=1))  # A1: not due
    await add_task(sessionmaker, CHAT_A, "second", due_at=NOW - timedelta(minutes=5))  # A2
    await add_task(sessionmaker, CHAT_A, "undated")  # A3
    await add_task(sessionmaker, CHAT_A, "done", due_at=NOW - timedelta(hours=1))  # A4: done
    await add_task(sessionmaker, CHAT_B, "first", due_at=NOW - timedelta(hours=2))  # B1
    await add_task(sessionmaker, CHAT_B, "now", due_at=NOW)  # B2: due exactly now
    await add_task(sessionmaker, CHAT_A, "tie with B2", due_at=NOW)  # A5
    await add_task(sessionmaker, 7, "inactive chat", due_at=NOW - timedelta(hours=3))
    async with sessionmaker.begin() as session:
        await repo.set_task_done(session, chat_id=CHAT_A, number=4, done=True, now=NOW)
        await repo.set_chat_active(session, chat_id=7, active=False)

    first_two = await claim(sessionmaker, limit=2, token="t1")
    assert [(r.chat_id, r.number) for r in first_two] == [(CHAT_B, 1), (CHAT_A, 2)]
    rest = await claim(sessionmaker, token="t2")
    # Same remind_at: the older task (lower id) first.
    assert [(r.chat_id, r.number) for r in rest] == [(CHAT_B, 2), (CHAT_A, 5)]
    assert await claim(sessionmaker) == []
    assert await claim(sessionmaker, limit=0) == []

    b1 = first_two[0]
    assert (b1.title, b1.due_at, b1.remind_for, b1.chat_timezone, b1.claim_token, b1.attempts) == (
        "first",
        NOW - timedelta(hours=2),
        NOW - timedelta(hours=2),
        "Asia/Tokyo",
        "t1",
        0,
    )
    stored = await load(sessionmaker, CHAT_B, 1)
    assert (stored.claim_token, stored.claimed_until) == ("t1", NOW + LEASE)


async def test_lease_expiry_allows_reclaim(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    [crashed] = await claim(sessionmaker, token="crashed")
    assert await claim(sessionmaker, now=NOW + LEASE - timedelta(microseconds=1)) == []
    async with sessionmaker() as session:
        assert await reminders.next_wakeup(session) == NOW + LEASE
    [recovered] = await claim(sessionmaker, now=NOW + LEASE, token="recovered")
    assert recovered.task_id == crashed.task_id

    async with sessionmaker.begin() as session:
        # The expired lease's token lost the claim; a made-up one never had it.
        for token in ("crashed", "nonsense"):
            assert not await reminders.complete(
                session, task_id=crashed.task_id, token=token, remind_at=None, remind_for=None
            )
            assert not await reminders.release(session, task_id=crashed.task_id, token=token, retry_at=NOW)
    task = await load(sessionmaker, CHAT_A, 1)
    assert reminder_state(task) == (NOW, NOW, NOW + 2 * LEASE, "recovered", 0)

    async with sessionmaker.begin() as session:
        assert await reminders.complete(
            session, task_id=recovered.task_id, token="recovered", remind_at=None, remind_for=None
        )
        # The token is spent.
        assert not await reminders.complete(
            session, task_id=recovered.task_id, token="recovered", remind_at=NOW, remind_for=NOW
        )
    task = await load(sessionmaker, CHAT_A, 1)
    assert reminder_state(task) == (None, None, None, None, 0)
    assert task.due_at == NOW


async def test_complete_recurring_sets_next_occurrence(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    nxt = NOW + timedelta(days=1)
    [held] = await claim(sessionmaker)
    async with sessionmaker.begin() as session:
        assert await reminders.complete(
            session, task_id=held.task_id, token=held.claim_token, remind_at=nxt, remind_for=nxt, due_at=nxt
        )
    task = await load(sessionmaker, CHAT_A, 1)
    assert (task.due_at, *reminder_state(task)) == (nxt, nxt, nxt, None, None, 0)

    # KEEP leaves the due time alone; None clears it.
    [held] = await claim(sessionmaker, now=nxt)
    async with sessionmaker.begin() as session:
        assert await reminders.complete(
            session,
            task_id=held.task_id,
            token=held.claim_token,
            remind_at=None,
            remind_for=None,
            due_at=KEEP,
        )
    assert (await load(sessionmaker, CHAT_A, 1)).due_at == nxt
    async with sessionmaker.begin() as session:
        await repo.snooze_task(session, chat_id=CHAT_A, number=1, remind_at=nxt, remind_for=nxt)
    [held] = await claim(sessionmaker, now=nxt)
    async with sessionmaker.begin() as session:
        assert await reminders.complete(
            session,
            task_id=held.task_id,
            token=held.claim_token,
            remind_at=None,
            remind_for=None,
            due_at=None,
        )
        task_by_id = await reminders.get_task_by_id(session, task_id=held.task_id)
        assert task_by_id is not None and task_by_id.due_at is None
        assert await reminders.get_task_by_id(session, task_id=10_000) is None


async def test_release_backs_off_and_counts(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, due_at=NOW)
    retry = NOW + timedelta(seconds=30)
    for attempt in (1, 2):
        [held] = await claim(sessionmaker, now=NOW if attempt == 1 else retry)
        assert held.attempts == attempt - 1
        async with sessionmaker.begin() as session:
            assert await reminders.release(
                session, task_id=held.task_id, token=held.claim_token, retry_at=retry
            )
            assert not await reminders.release(
                session, task_id=held.task_id, token=held.claim_token, retry_at=NOW
            )
        assert reminder_state(await load(sessionmaker, CHAT_A, 1)) == (NOW, NOW, retry, None, attempt)
        async with sessionmaker() as session:
            assert await reminders.next_wakeup(session) == retry
        assert await claim(sessionmaker, now=retry - timedelta(seconds=1)) == []
    [held] = await claim(sessionmaker, now=retry)
    assert held.attempts == 2
    async with sessionmaker.begin() as session:
        assert await reminders.complete(
            session, task_id=held.task_id, token=held.claim_token, remind_at=None, remind_for=None
        )
    assert (await load(sessionmaker, CHAT_A, 1)).attempts == 0


async def test_next_wakeup(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        assert await reminders.next_wakeup(session) is None
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    await add_task(sessionmaker, CHAT_A)  # undated
    await add_task(sessionmaker, CHAT_A, due_at=NOW + timedelta(hours=3))  # A2
    await add_task(sessionmaker, CHAT_A, due_at=NOW + timedelta(hours=1))  # A3 done
    await add_task(sessionmaker, CHAT_B, due_at=NOW + timedelta(minutes=30))  # B1 inactive chat
    async with sessionmaker.begin() as session:
        await repo.set_task_done(session, chat_id=CHAT_A, number=3, done=True, now=NOW)
        await repo.set_chat_active(session, chat_id=CHAT_B, active=False)
    async with sessionmaker() as session:
        assert await reminders.next_wakeup(session) == NOW + timedelta(hours=3)

    await add_task(sessionmaker, CHAT_A, due_at=NOW - timedelta(days=2))  # A4: overdue, claimable now
    async with sessionmaker() as session:
        wakeup = await reminders.next_wakeup(session)
        assert wakeup == NOW - timedelta(days=2) and wakeup.tzinfo is UTC
    await claim(sessionmaker)  # A4 is leased until NOW + LEASE
    async with sessionmaker() as session:
        assert await reminders.next_wakeup(session) == NOW + LEASE


async def test_stale_and_fresh_filters(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    cutoff = NOW - timedelta(hours=1)
    await add_task(sessionmaker, CHAT_A, "ancient", due_at=NOW - timedelta(days=1))  # 1
    await add_task(sessionmaker, CHAT_A, "at cutoff", due_at=cutoff)  # 2
    await add_task(sessionmaker, CHAT_A, "recent", due_at=NOW - timedelta(minutes=1))  # 3
    await add_task(sessionmaker, CHAT_A, "snoozed old", due_at=NOW - timedelta(days=2))  # 4
    async with sessionmaker.begin() as session:
        # About an occurrence long gone, but snoozed to now: the reminder itself is due now, so fresh.
        await repo.snooze_task(
            session, chat_id=CHAT_A, number=4, remind_at=NOW, remind_for=NOW - timedelta(days=2)
        )
    stale = await claim(sessionmaker, stale_before=cutoff)
    assert [r.number for r in stale] == [1]
    fresh = await claim(sessionmaker, fresh_only_after=cutoff)
    assert [r.number for r in fresh] == [2, 3, 4]


# migrate_chat


async def test_migrate_chat_to_unseen_id(sessionmaker: Sessions) -> None:
    old, new = -4242, -1004242
    await add_chat(sessionmaker, old)
    await add_task(sessionmaker, old, "one", due_at=NOW)
    await add_task(sessionmaker, old, "two")
    async with sessionmaker.begin() as session:
        await repo.save_draft(session, chat_id=old, user_id=5, title="draft", now=NOW)
        await repo.set_chat_timezone(session, chat_id=old, timezone="Asia/Tokyo")
    async with sessionmaker.begin() as session:
        loaded = await repo.get_chat(session, chat_id=old)
        assert loaded is not None
        await repo.migrate_chat(session, old_id=old, new_id=new)
        assert await repo.get_chat(session, chat_id=old) is None
        moved = await repo.get_chat(session, chat_id=new)
        assert moved is not None and (moved.timezone, moved.next_number) == ("Asia/Tokyo", 3)
    async with sessionmaker() as session:
        tasks = await repo.list_tasks(session, chat_id=new, include_done=True)
        assert [(t.number, t.title) for t in tasks] == [(1, "one"), (2, "two")]
        assert await repo.get_draft(session, chat_id=new, user_id=5) is not None
        assert (await session.scalars(select(Chat.id))).all() == [new]
    assert [r.chat_id for r in await claim(sessionmaker)] == [new]

    # Again (Telegram reports a migration from both sides): nothing left to move.
    async with sessionmaker.begin() as session:
        await repo.migrate_chat(session, old_id=old, new_id=new)
    assert (await add_task(sessionmaker, new)).number == 3


async def test_migrate_chat_replaces_empty_new_chat(sessionmaker: Sessions) -> None:
    old, new = -4242, -1004242
    await add_chat(sessionmaker, old, timezone="Asia/Tokyo")
    await add_task(sessionmaker, old, "one")
    await add_chat(sessionmaker, new)  # seen first, no tasks
    async with sessionmaker.begin() as session:
        await repo.save_draft(session, chat_id=new, user_id=5, title="new side", now=NOW)
        await repo.migrate_chat(session, old_id=old, new_id=new)
    async with sessionmaker() as session:
        chat = await repo.get_chat(session, chat_id=new)
        assert chat is not None and (chat.timezone, chat.next_number) == ("Asia/Tokyo", 2)
        tasks = await repo.list_tasks(session, chat_id=new, include_done=True)
        assert [(t.number, t.title) for t in tasks] == [(1, "one")]
        assert (await session.scalars(select(Chat.id))).all() == [new]


async def test_migrate_chat_merges_into_new_chat_with_tasks(sessionmaker: Sessions) -> None:
    old, new = -4242, -1004242
    await add_chat(sessionmaker, old)
    for title in ("o1", "o2", "o3", "o4"):
        await add_task(sessionmaker, old, title, due_at=NOW)
    await add_chat(sessionmaker, new, timezone="Asia/Tokyo")
    for title in ("n1", "n2"):
        await add_task(sessionmaker, new, title)
    async with sessionmaker.begin() as session:
        assert await repo.delete_task(session, chat_id=old, number=2)
        assert await repo.delete_task(session, chat_id=new, number=2)  # new's next_number stays 3
        await repo.set_task_done(session, chat_id=old, number=3, done=True, now=NOW)
        await repo.save_draft(session, chat_id=old, user_id=5, title="old only", now=NOW)
        await repo.save_draft(session, chat_id=old, user_id=6, title="old loses", now=NOW)
        await repo.save_draft(session, chat_id=new, user_id=6, title="new keeps", now=NOW)
    async with sessionmaker.begin() as session:
        await repo.get_tasks(session, chat_id=old, numbers=[1, 3, 4])  # loaded, must not go stale
        await repo.migrate_chat(session, old_id=old, new_id=new)
        tasks = await repo.list_tasks(session, chat_id=new, include_done=True)
        assert sorted((t.number, t.title) for t in tasks) == [(1, "n1"), (3, "o1"), (4, "o3"), (5, "o4")]
    async with sessionmaker() as session:
        assert (await session.scalars(select(Chat.id))).all() == [new]
        chat = await repo.get_chat(session, chat_id=new)
        assert chat is not None and (chat.timezone, chat.next_number) == ("Asia/Tokyo", 6)
        drafts = await session.execute(select(Draft.user_id, Draft.title).order_by(Draft.user_id))
        assert [tuple(d) for d in drafts] == [(5, "old only"), (6, "new keeps")]
        done = await repo.get_task(session, chat_id=new, number=4)
        assert done is not None and done.done
    assert (await add_task(sessionmaker, new)).number == 6
    assert sorted(r.number for r in await claim(sessionmaker)) == [3, 5]


async def test_migrate_chat_with_empty_old_chat_into_busy_new_chat(sessionmaker: Sessions) -> None:
    old, new = -4242, -1004242
    await add_chat(sessionmaker, old)
    await add_chat(sessionmaker, new)
    await add_task(sessionmaker, new, "n1")
    async with sessionmaker.begin() as session:
        await repo.migrate_chat(session, old_id=old, new_id=new)
        await repo.migrate_chat(session, old_id=new, new_id=new)  # a no-op
    async with sessionmaker() as session:
        assert (await session.scalars(select(Chat.id))).all() == [new]
        assert [t.title for t in await repo.list_tasks(session, chat_id=new, include_done=True)] == ["n1"]
        chat = await repo.get_chat(session, chat_id=new)
        assert chat is not None and chat.next_number == 2


# Migration 0002

REMINDER_COLUMNS = {
    "remind_at",
    "remind_for",
    "claimed_until",
    "claim_token",
    "attempts",
    "place_latitude",
    "place_longitude",
    "place_timezone",
}


async def tasks_shape(url: str) -> tuple[set[str], dict[str, list[str]], dict[str, list[str]], int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def shape(c: Connection) -> tuple[set[str], dict[str, list[str]], dict[str, list[str]], int]:
                insp = inspect(c)
                indexes = [ix for ix in insp.get_indexes("tasks") if "duplicates_constraint" not in ix]
                return (
                    {col["name"] for col in insp.get_columns("tasks")},
                    {str(ix["name"]): list(ix["column_names"]) for ix in indexes},  # type: ignore[arg-type]
                    {
                        str(uq["name"]): list(uq["column_names"])
                        for uq in insp.get_unique_constraints("tasks")
                    },
                    len(insp.get_foreign_keys("tasks")),
                )

            return await conn.run_sync(shape)
    finally:
        await engine.dispose()


async def test_migration_0002_backfills_and_round_trips(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url)
    await downgrade_database(empty_db_url, "0001")
    columns, indexes, uniques, fks = await tasks_shape(empty_db_url)
    assert not columns & REMINDER_COLUMNS
    assert indexes == {"ix_tasks_chat_id_done_due_at": ["chat_id", "done", "due_at"]}
    assert uniques == {"uq_tasks_chat_id_number": ["chat_id", "number"]}
    assert fks == 1

    # Rows written by the 0001 schema.
    chats = table("chats", column("id", BigInteger()), column("kind", String()), column("timezone", String()))
    tasks = table(
        "tasks",
        column("id", Integer()),
        column("chat_id", BigInteger()),
        column("number", Integer()),
        column("title", String()),
        column("due_at", UTCDateTime()),
        column("done", Boolean()),
        column("created_at", UTCDateTime()),
    )
    rows = {1: (NOW, False), 2: (NOW, True), 3: (None, False), 4: (NOW + timedelta(days=1), False)}
    engine = make_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(chats).values(id=CHAT_A, kind="private", timezone="UTC"))
            await conn.execute(
                insert(tasks),
                [
                    {"id": i, "chat_id": CHAT_A, "number": i, "title": "t", "due_at": due, "done": done}
                    | {"created_at": NOW}
                    for i, (due, done) in rows.items()
                ],
            )
    finally:
        await engine.dispose()

    await upgrade_database(empty_db_url)
    columns, indexes, _, _ = await tasks_shape(empty_db_url)
    assert columns >= REMINDER_COLUMNS
    assert indexes["ix_tasks_remind_at"] == ["remind_at"]
    engine = make_engine(empty_db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            got = {t.id: t for t in await session.scalars(select(Task))}
            assert {i: reminder_state(t) for i, t in got.items()} == {
                1: (NOW, NOW, None, None, 0),
                2: (None, None, None, None, 0),
                3: (None, None, None, None, 0),
                4: (NOW + timedelta(days=1), NOW + timedelta(days=1), None, None, 0),
            }
            assert [
                r.task_id
                for r in await reminders.claim_due(session, now=NOW, lease=LEASE, limit=10, token="t")
            ] == [1]
            await session.rollback()
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()

    # Down to 0001 with data in place (SQLite copies the table), and the rows survive.
    await downgrade_database(empty_db_url, "0001")
    columns, indexes, uniques, fks = await tasks_shape(empty_db_url)
    assert not columns & REMINDER_COLUMNS
    assert indexes == {"ix_tasks_chat_id_done_due_at": ["chat_id", "done", "due_at"]}
    assert uniques == {"uq_tasks_chat_id_number": ["chat_id", "number"]}
    assert fks == 1
    engine = make_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(select(tasks.c.id).order_by(tasks.c.id))).scalars().all() == [
                1,
                2,
                3,
                4,
            ]
    finally:
        await engine.dispose()
    await upgrade_database(empty_db_url)
    await downgrade_database(empty_db_url)
