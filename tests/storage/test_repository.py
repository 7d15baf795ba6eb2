from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repository as repo
from storage.models import Chat, Task

Sessions = async_sessionmaker[AsyncSession]

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CHAT_A = -1001234567890
CHAT_B = 42


async def add_chat(
    sessions: Sessions, chat_id: int, *, kind: str = "private", title: str | None = None
) -> Chat:
    async with sessions.begin() as session:
        return await repo.ensure_chat(
            session, chat_id=chat_id, kind=kind, title=title, timezone="Europe/Berlin"
        )


async def add_task(
    sessions: Sessions,
    chat_id: int,
    title: str = "task",
    *,
    due_at: datetime | None = None,
    rule: str | None = None,
) -> Task:
    async with sessions.begin() as session:
        return await repo.create_task(
            session,
            chat_id=chat_id,
            title=title,
            due_at=due_at,
            rule=rule,
            place=None,
            created_by=7,
            now=NOW,
        )


async def numbers(sessions: Sessions, chat_id: int, *, include_done: bool = True) -> list[int]:
    async with sessions() as session:
        return [t.number for t in await repo.list_tasks(session, chat_id=chat_id, include_done=include_done)]


# Chats


async def test_ensure_chat_creates_then_updates(sessionmaker: Sessions) -> None:
    chat = await add_chat(sessionmaker, CHAT_A, kind="group", title="Old")
    assert (chat.id, chat.kind, chat.title, chat.timezone, chat.next_number, chat.active) == (
        CHAT_A,
        "group",
        "Old",
        "Europe/Berlin",
        1,
        True,
    )
    assert chat.created_at.tzinfo is UTC

    async with sessionmaker.begin() as session:
        again = await repo.ensure_chat(
            session, chat_id=CHAT_A, kind="supergroup", title="New", timezone="Asia/Tokyo"
        )
    assert (again.kind, again.title, again.timezone) == ("supergroup", "New", "Europe/Berlin")

    async with sessionmaker() as session:
        stored = await repo.get_chat(session, chat_id=CHAT_A)
        assert stored is not None
        assert (stored.kind, stored.title, stored.timezone) == ("supergroup", "New", "Europe/Berlin")
        assert await repo.get_chat(session, chat_id=CHAT_B) is None


async def test_ensure_chat_concurrent_race(sessionmaker: Sessions) -> None:
    chats = await asyncio.gather(*(add_chat(sessionmaker, CHAT_A, title="Race") for _ in range(10)))
    assert {c.id for c in chats} == {CHAT_A}
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Chat))).all()) == 1


async def test_set_chat_timezone(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    async with sessionmaker.begin() as session:
        await repo.set_chat_timezone(session, chat_id=CHAT_A, timezone="America/New_York")
    async with sessionmaker() as session:
        chat = await repo.get_chat(session, chat_id=CHAT_A)
        assert chat is not None and chat.timezone == "America/New_York"


# Task numbers


async def test_numbers_per_chat_never_reused(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    assert [(await add_task(sessionmaker, CHAT_A)).number for _ in range(3)] == [1, 2, 3]
    assert (await add_task(sessionmaker, CHAT_B)).number == 1

    async with sessionmaker.begin() as session:
        assert await repo.delete_task(session, chat_id=CHAT_A, number=3)
        assert not await repo.delete_task(session, chat_id=CHAT_A, number=3)
    assert (await add_task(sessionmaker, CHAT_A)).number == 4
    assert await numbers(sessionmaker, CHAT_A) == [1, 2, 4]
    assert (await add_task(sessionmaker, CHAT_B)).number == 2


async def test_rolled_back_create_leaves_no_gap(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    async with sessionmaker() as session, session.begin():
        task = await repo.create_task(
            session, chat_id=CHAT_A, title="t", due_at=None, rule=None, place=None, created_by=None, now=NOW
        )
        assert task.number == 1
        await session.rollback()
    assert (await add_task(sessionmaker, CHAT_A)).number == 1


async def test_create_task_unknown_chat(sessionmaker: Sessions) -> None:
    with pytest.raises(repo.ChatNotFoundError):
        await add_task(sessionmaker, CHAT_A)


async def test_concurrent_creates_get_distinct_numbers(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    tasks = await asyncio.gather(*(add_task(sessionmaker, CHAT_A, f"t{i}") for i in range(20)))
    assert sorted(t.number for t in tasks) == list(range(1, 21))
    assert sorted(await numbers(sessionmaker, CHAT_A)) == list(range(1, 21))
    async with sessionmaker() as session:
        chat = await repo.get_chat(session, chat_id=CHAT_A)
        assert chat is not None and chat.next_number == 21


async def test_create_task_keeps_loaded_chat_current(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    async with sessionmaker.begin() as session:
        chat = await repo.get_chat(session, chat_id=CHAT_A)
        assert chat is not None and chat.next_number == 1
        await repo.create_task(
            session, chat_id=CHAT_A, title="t", due_at=None, rule=None, place=None, created_by=None, now=NOW
        )
        assert chat.next_number == 2


# Scoping


async def test_every_query_is_scoped_by_chat(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    await add_task(sessionmaker, CHAT_A, "secret")

    async with sessionmaker.begin() as session:
        assert await repo.get_task(session, chat_id=CHAT_B, number=1) is None
        assert await repo.get_tasks(session, chat_id=CHAT_B, numbers=[1]) == []
        assert await repo.set_task_done(session, chat_id=CHAT_B, number=1, done=True, now=NOW) is None
        assert await repo.set_task_title(session, chat_id=CHAT_B, number=1, title="pwned") is None
        assert await repo.set_task_due(session, chat_id=CHAT_B, number=1, due_at=NOW, rule=None) is None
        assert not await repo.delete_task(session, chat_id=CHAT_B, number=1)
        assert await repo.list_tasks(session, chat_id=CHAT_B, include_done=True) == []
        assert await repo.count_tasks(session, chat_id=CHAT_B, include_done=True) == 0

    async with sessionmaker() as session:
        task = await repo.get_task(session, chat_id=CHAT_A, number=1)
        assert task is not None
        assert (task.title, task.done, task.due_at) == ("secret", False, None)


# Reading and changing tasks


async def test_list_and_count_order(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, "undated")  # 1
    await add_task(sessionmaker, CHAT_A, "later", due_at=NOW + timedelta(days=2))  # 2
    await add_task(sessionmaker, CHAT_A, "sooner", due_at=NOW + timedelta(hours=1))  # 3
    await add_task(sessionmaker, CHAT_A, "undated too")  # 4
    await add_task(sessionmaker, CHAT_A, "done dated", due_at=NOW - timedelta(days=1))  # 5
    await add_task(sessionmaker, CHAT_A, "done undated")  # 6
    # Same instant as #3, given in another zone: ties fall back to the number.
    await add_task(
        sessionmaker,
        CHAT_A,
        "tie",
        due_at=(NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5))),
    )
    async with sessionmaker.begin() as session:
        for number in (6, 5):
            assert await repo.set_task_done(session, chat_id=CHAT_A, number=number, done=True, now=NOW)

    assert await numbers(sessionmaker, CHAT_A, include_done=False) == [3, 7, 2, 1, 4]
    assert await numbers(sessionmaker, CHAT_A) == [3, 7, 2, 1, 4, 5, 6]
    async with sessionmaker() as session:
        assert await repo.count_tasks(session, chat_id=CHAT_A, include_done=False) == 5
        assert await repo.count_tasks(session, chat_id=CHAT_A, include_done=True) == 7
        got = await repo.get_tasks(session, chat_id=CHAT_A, numbers=[4, 99, 2])
        assert [t.number for t in got] == [2, 4]
        assert await repo.get_tasks(session, chat_id=CHAT_A, numbers=[]) == []


async def test_done_title_due_changes(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_A, "old")
    later = NOW + timedelta(hours=3)

    async with sessionmaker.begin() as session:
        loaded = await repo.get_task(session, chat_id=CHAT_A, number=1)
        done = await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=True, now=later)
        assert done is not None and done is loaded
        assert (done.done, done.done_at) == (True, later)

    async with sessionmaker.begin() as session:
        reopened = await repo.set_task_done(session, chat_id=CHAT_A, number=1, done=False, now=later)
        assert reopened is not None and (reopened.done, reopened.done_at) == (False, None)
        titled = await repo.set_task_title(session, chat_id=CHAT_A, number=1, title="new")
        assert titled is not None and titled.title == "new"
        due = await repo.set_task_due(session, chat_id=CHAT_A, number=1, due_at=later, rule="every day 9:00")
        assert due is not None and (due.due_at, due.rule) == (later, "every day 9:00")

    async with sessionmaker() as session:
        task = await repo.get_task(session, chat_id=CHAT_A, number=1)
        assert task is not None
        assert (task.title, task.done, task.done_at, task.due_at, task.rule) == (
            "new",
            False,
            None,
            later,
            "every day 9:00",
        )
        assert (task.created_by, task.created_at) == (7, NOW)

    async with sessionmaker.begin() as session:
        cleared = await repo.set_task_due(session, chat_id=CHAT_A, number=1, due_at=None, rule=None)
        assert cleared is not None and (cleared.due_at, cleared.rule) == (None, None)


async def test_text_round_trips_exactly(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A, title="<i>Team</i> & co 🚀")
    title = "<b>Buy</b> milk & eggs 🥛🥚 — «now» 'quoted' \"double\" \\ 中文"
    async with sessionmaker.begin() as session:
        await repo.create_task(
            session,
            chat_id=CHAT_A,
            title=title,
            due_at=None,
            rule=None,
            place="Zürich <HB> & more 🏔",
            created_by=None,
            now=NOW,
        )
    async with sessionmaker() as session:
        task = await repo.get_task(session, chat_id=CHAT_A, number=1)
        chat = await repo.get_chat(session, chat_id=CHAT_A)
    assert task is not None and chat is not None
    assert (task.title, task.place, chat.title) == (title, "Zürich <HB> & more 🏔", "<i>Team</i> & co 🚀")


# UTCDateTime


async def test_datetimes_round_trip_as_aware_utc(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    plus_five = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5)))
    await add_task(sessionmaker, CHAT_A, due_at=plus_five)
    async with sessionmaker() as session:
        task = await repo.get_task(session, chat_id=CHAT_A, number=1)
        assert task is not None and task.due_at is not None
        assert task.due_at == plus_five
        assert task.due_at.tzinfo is UTC
        assert task.due_at.hour == 4 and task.due_at.microsecond == 123456
        assert task.created_at.tzinfo is UTC
        # Comparisons in SQL convert the bound value too.
        found = await session.scalars(
            select(Task.number).where(Task.due_at > plus_five - timedelta(seconds=1))
        )
        assert found.all() == [1]


async def test_naive_datetime_is_rejected(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    with pytest.raises(StatementError, match="naive"):
        await add_task(sessionmaker, CHAT_A, due_at=datetime(2025, 6, 1, 9, 30))
    with pytest.raises(StatementError, match="naive"):
        async with sessionmaker.begin() as session:
            await repo.create_task(
                session,
                chat_id=CHAT_A,
                title="t",
                due_at=None,
                rule=None,
                place=None,
                created_by=None,
                now=datetime(2025, 6, 1),
            )
    assert await numbers(sessionmaker, CHAT_A) == []


# Cascades


async def test_deleting_a_chat_deletes_its_tasks(sessionmaker: Sessions) -> None:
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    await add_task(sessionmaker, CHAT_A)
    await add_task(sessionmaker, CHAT_B)
    async with sessionmaker.begin() as session:
        await session.execute(delete(Chat).where(Chat.id == CHAT_A))
    async with sessionmaker() as session:
        assert (await session.scalars(select(Task.chat_id))).all() == [CHAT_B]


async def test_changing_a_chat_id_moves_its_tasks(sessionmaker: Sessions) -> None:
    old_id, new_id = -4242, -1004242
    await add_chat(sessionmaker, old_id, kind="group")
    await add_task(sessionmaker, old_id, "one")
    await add_task(sessionmaker, old_id, "two")
    async with sessionmaker.begin() as session:
        await session.execute(update(Chat).where(Chat.id == old_id).values(id=new_id))
    async with sessionmaker() as session:
        assert await repo.list_tasks(session, chat_id=old_id, include_done=True) == []
        moved = await repo.list_tasks(session, chat_id=new_id, include_done=True)
        assert [(t.number, t.title) for t in moved] == [(1, "one"), (2, "two")]
    assert (await add_task(sessionmaker, new_id)).number == 3


# Drafts


async def test_drafts(sessionmaker: Sessions) -> None:
    later = NOW + timedelta(minutes=5)
    await add_chat(sessionmaker, CHAT_A)
    await add_chat(sessionmaker, CHAT_B)
    async with sessionmaker.begin() as session:
        assert await repo.get_draft(session, chat_id=CHAT_A, user_id=1) is None
        draft = await repo.save_draft(session, chat_id=CHAT_A, user_id=1, title=None, now=NOW)
        assert (draft.chat_id, draft.user_id, draft.title, draft.created_at) == (CHAT_A, 1, None, NOW)
        await repo.save_draft(session, chat_id=CHAT_A, user_id=2, title="other user", now=NOW)
        await repo.save_draft(session, chat_id=CHAT_B, user_id=1, title="other chat", now=NOW)

    async with sessionmaker.begin() as session:
        loaded = await repo.get_draft(session, chat_id=CHAT_A, user_id=1)
        updated = await repo.save_draft(session, chat_id=CHAT_A, user_id=1, title="<b>milk</b> 🥛", now=later)
        assert updated is loaded
        assert (updated.title, updated.created_at) == ("<b>milk</b> 🥛", later)

    async with sessionmaker.begin() as session:
        stored = await repo.get_draft(session, chat_id=CHAT_A, user_id=1)
        assert stored is not None and stored.title == "<b>milk</b> 🥛"
        assert await repo.delete_draft(session, chat_id=CHAT_A, user_id=1)
        assert not await repo.delete_draft(session, chat_id=CHAT_A, user_id=1)
        assert await repo.get_draft(session, chat_id=CHAT_A, user_id=1) is None
        other_user = await repo.get_draft(session, chat_id=CHAT_A, user_id=2)
        other_chat = await repo.get_draft(session, chat_id=CHAT_B, user_id=1)
        assert other_user is not None and other_user.title == "other user"
        assert other_chat is not None and other_chat.title == "other chat"
