"""Queries on chats, tasks and drafts.

Every function takes the session first and keyword arguments after it; the caller owns the transaction
(nothing here commits). Task queries are always scoped by chat id.

The reminder columns (`remind_at`, `remind_for`, the claim and `attempts`) are kept in step here: a new
or re-dated open task has its reminder pending at its due time, a done task has none, and any change of
what the reminder is about clears a dispatcher's claim, so that dispatcher's `reminders.complete` fails
instead of overwriting the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, literal, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, Draft, Task
from storage.types import UTCDateTime


class ChatNotFoundError(LookupError):
    """The chat a task was added to does not exist."""


def _upsert(session: AsyncSession, model: type[Chat] | type[Draft]) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"No upsert for the {dialect} dialect")


# Chats


async def get_chat(session: AsyncSession, *, chat_id: int) -> Chat | None:
    """The chat, or None."""
    return await session.get(Chat, chat_id)


async def ensure_chat(
    session: AsyncSession, *, chat_id: int, kind: str, title: str | None, timezone: str
) -> Chat:
    """The chat, inserted with `timezone` if new (race-safe); its kind and title kept current."""
    insert = _upsert(session, Chat).values(id=chat_id, kind=kind, title=title, timezone=timezone)
    await session.execute(insert.on_conflict_do_nothing(index_elements=[Chat.id]))
    chat = await session.get_one(Chat, chat_id, populate_existing=True)
    if chat.kind != kind or chat.title != title:
        chat.kind = kind
        chat.title = title
        await session.flush()
    return chat


async def set_chat_timezone(session: AsyncSession, *, chat_id: int, timezone: str) -> None:
    """Set the chat's IANA zone name."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(timezone=timezone))


async def set_chat_active(session: AsyncSession, *, chat_id: int, active: bool) -> None:
    """Mark the chat reachable or not (the bot was blocked or removed); inactive chats get no reminders."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(active=active))


async def set_chat_place(
    session: AsyncSession,
    *,
    chat_id: int,
    place_name: str | None,
    latitude: float | None,
    longitude: float | None,
    timezone: str | None,
) -> None:
    """Set the chat's place and its coordinates, and its zone unless `timezone` is None (kept then)."""
    values: dict[str, Any] = {"place_name": place_name, "latitude": latitude, "longitude": longitude}
    if timezone is not None:
        values["timezone"] = timezone
    await session.execute(update(Chat).where(Chat.id == chat_id).values(**values))


async def migrate_chat(session: AsyncSession, *, old_id: int, new_id: int) -> None:
    """Move a chat, its tasks and its drafts from `old_id` to `new_id` (a group became a supergroup).

    If a chat `new_id` already exists (the bot saw the supergroup first) and has no tasks, it is replaced
    by the old chat. If it has tasks, the old chat's tasks join them, renumbered from its next number in
    their old order, the old chat's drafts move where the user has none there, and the old chat is
    deleted; the new chat keeps its own settings. Does nothing if there is no chat `old_id`.

    Takes the rows' locks on PostgreSQL; on SQLite run it in a `BEGIN IMMEDIATE` transaction. A chat
    `new_id` inserted concurrently can make it raise IntegrityError; run it again then. Chats, tasks
    and drafts of both ids are expunged from the session (they may have moved or gone).
    """
    if old_id == new_id:
        return
    locked = select(Chat.id).where(Chat.id.in_([old_id, new_id])).order_by(Chat.id).with_for_update()
    present = set((await session.scalars(locked)).all())
    if old_id in present:
        if new_id in present:
            count = select(func.count()).select_from(Task).where(Task.chat_id == new_id)
            if (await session.execute(count)).scalar_one() == 0:
                await session.execute(
                    delete(Chat).where(Chat.id == new_id), execution_options={"synchronize_session": False}
                )
            else:
                await _merge_chat_into(session, old_id=old_id, new_id=new_id)
                present.discard(old_id)
        if old_id in present:
            await session.execute(
                update(Chat).where(Chat.id == old_id).values(id=new_id),
                execution_options={"synchronize_session": False},
            )
    _expunge_chats(session, {old_id, new_id})


async def _merge_chat_into(session: AsyncSession, *, old_id: int, new_id: int) -> None:
    ids = list(
        (await session.scalars(select(Task.id).where(Task.chat_id == old_id).order_by(Task.number))).all()
    )
    no_sync = {"synchronize_session": False}
    if ids:
        bump = (
            update(Chat)
            .where(Chat.id == new_id)
            .values(next_number=Chat.next_number + len(ids))
            .returning(Chat.next_number)
        )
        first = (await session.execute(bump, execution_options=no_sync)).scalar_one() - len(ids)
        await session.execute(
            update(Task),
            [{"id": task_id, "chat_id": new_id, "number": first + i} for i, task_id in enumerate(ids)],
            execution_options=no_sync,
        )
    taken = select(Draft.user_id).where(Draft.chat_id == new_id).scalar_subquery()
    await session.execute(
        update(Draft).where(Draft.chat_id == old_id, Draft.user_id.not_in(taken)).values(chat_id=new_id),
        execution_options=no_sync,
    )
    await session.execute(delete(Chat).where(Chat.id == old_id), execution_options=no_sync)


def _expunge_chats(session: AsyncSession, chat_ids: set[int]) -> None:
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, Chat) and obj.id in chat_ids) or (
            isinstance(obj, Task | Draft) and obj.chat_id in chat_ids
        ):
            session.expunge(obj)


# Tasks


def _task_key(chat_id: int, number: int) -> tuple[ColumnElement[bool], ...]:
    return (Task.chat_id == chat_id, Task.number == number)


async def _update_task(session: AsyncSession, *, chat_id: int, number: int, **values: Any) -> Task | None:
    stmt = update(Task).where(*_task_key(chat_id, number)).values(**values).returning(Task)
    result = await session.scalars(stmt, execution_options={"populate_existing": True})
    return result.one_or_none()


async def create_task(
    session: AsyncSession,
    *,
    chat_id: int,
    title: str,
    due_at: datetime | None,
    rule: str | None,
    place: str | None,
    created_by: int | None,
    now: datetime,
    place_latitude: float | None = None,
    place_longitude: float | None = None,
    place_timezone: str | None = None,
) -> Task:
    """Add a task under the chat's next number, its reminder pending at `due_at`.

    Raises ChatNotFoundError for an unknown chat.
    """
    # One UPDATE both reads and bumps the counter, so concurrent adds serialize on the chat row.
    bump = (
        update(Chat)
        .where(Chat.id == chat_id)
        .values(next_number=Chat.next_number + 1)
        .returning(Chat.next_number)
    )
    next_number = (await session.execute(bump, execution_options={"synchronize_session": "fetch"})).scalar()
    if next_number is None:
        raise ChatNotFoundError(f"No chat {chat_id}")
    task = Task(
        chat_id=chat_id,
        number=next_number - 1,
        title=title,
        due_at=due_at,
        rule=rule,
        place=place,
        done=False,
        created_by=created_by,
        created_at=now,
        remind_at=due_at,
        remind_for=due_at,
        claimed_until=None,
        claim_token=None,
        attempts=0,
        place_latitude=place_latitude,
        place_longitude=place_longitude,
        place_timezone=place_timezone,
    )
    session.add(task)
    await session.flush()
    return task


async def get_task(session: AsyncSession, *, chat_id: int, number: int) -> Task | None:
    """The chat's task with this number, or None."""
    return (await session.scalars(select(Task).where(*_task_key(chat_id, number)))).one_or_none()


async def get_tasks(session: AsyncSession, *, chat_id: int, numbers: Sequence[int]) -> list[Task]:
    """The chat's tasks among these numbers, by number; unknown numbers are left out."""
    if not numbers:
        return []
    stmt = select(Task).where(Task.chat_id == chat_id, Task.number.in_(numbers)).order_by(Task.number)
    return list(await session.scalars(stmt))


async def list_tasks(session: AsyncSession, *, chat_id: int, include_done: bool) -> list[Task]:
    """The chat's tasks: open before done, each by due time (undated last), then by number."""
    stmt = select(Task).where(Task.chat_id == chat_id)
    if not include_done:
        stmt = stmt.where(Task.done.is_(False))
    stmt = stmt.order_by(Task.done, Task.due_at.asc().nulls_last(), Task.number)
    return list(await session.scalars(stmt))


async def count_tasks(session: AsyncSession, *, chat_id: int, include_done: bool) -> int:
    """How many tasks the chat has (open ones only unless include_done)."""
    stmt = select(func.count()).select_from(Task).where(Task.chat_id == chat_id)
    if not include_done:
        stmt = stmt.where(Task.done.is_(False))
    return (await session.execute(stmt)).scalar_one()


_NO_CLAIM: dict[str, Any] = {"claimed_until": None, "claim_token": None, "attempts": 0, "refusals": 0}


async def set_task_done(
    session: AsyncSession, *, chat_id: int, number: int, done: bool, now: datetime
) -> Task | None:
    """Mark the task done (at `now`) or open again; None if the chat has no such task.

    Done: no reminder is pending and a claim on it is dropped. Reopened (if it was done): its reminder
    is pending at `due_at` again if that is still after `now`, else none is (no late reminder).
    """
    if done:
        return await _update_task(
            session, chat_id=chat_id, number=number, done=True, done_at=now, remind_at=None, **_NO_CLAIM
        )
    # SET expressions see the row as it was, so `Task.done` here is whether it was done.
    upcoming = Task.due_at > literal(now, UTCDateTime())
    reminder = case((Task.done & upcoming, Task.due_at), (Task.done, null()), else_=Task.remind_at)
    reminder_for = case((Task.done & upcoming, Task.due_at), (Task.done, null()), else_=Task.remind_for)
    return await _update_task(
        session,
        chat_id=chat_id,
        number=number,
        done=False,
        done_at=None,
        remind_at=reminder,
        remind_for=reminder_for,
        claimed_until=case((Task.done, null()), else_=Task.claimed_until),
        claim_token=case((Task.done, null()), else_=Task.claim_token),
        attempts=case((Task.done, 0), else_=Task.attempts),
    )


async def set_task_title(session: AsyncSession, *, chat_id: int, number: int, title: str) -> Task | None:
    """Retitle the task; None if the chat has no such task."""
    return await _update_task(session, chat_id=chat_id, number=number, title=title)


async def set_task_due(
    session: AsyncSession, *, chat_id: int, number: int, due_at: datetime | None, rule: str | None
) -> Task | None:
    """Set the task's due time and recurrence rule; None if the chat has no such task.

    Its reminder is pending at `due_at` (none if undated or done); a claim on it is dropped.
    """
    due = literal(due_at, UTCDateTime())
    return await _update_task(
        session,
        chat_id=chat_id,
        number=number,
        due_at=due_at,
        rule=rule,
        remind_at=case((Task.done, null()), else_=due),
        remind_for=due,
        **_NO_CLAIM,
    )


async def mark_occurrence_done(session: AsyncSession, *, chat_id: int, number: int, at: datetime) -> None:
    """Record when a recurring task's occurrence was last completed, in `done_at` (the task stays open)."""
    await _update_task(session, chat_id=chat_id, number=number, done_at=at)


async def snooze_task(
    session: AsyncSession, *, chat_id: int, number: int, remind_at: datetime, remind_for: datetime | None
) -> Task | None:
    """Move the open task's pending reminder (about occurrence `remind_for`) to `remind_at`.

    Drops a claim on it. None if the chat has no such open task.
    """
    stmt = (
        update(Task)
        .where(*_task_key(chat_id, number), Task.done.is_(False))
        .values(remind_at=remind_at, remind_for=remind_for, **_NO_CLAIM)
        .returning(Task)
    )
    result = await session.scalars(stmt, execution_options={"populate_existing": True})
    return result.one_or_none()


async def set_task_place(
    session: AsyncSession,
    *,
    chat_id: int,
    number: int,
    place: str | None,
    latitude: float | None,
    longitude: float | None,
    timezone: str | None,
) -> Task | None:
    """Set the task's own place, its coordinates and zone; None if the chat has no such task."""
    return await _update_task(
        session,
        chat_id=chat_id,
        number=number,
        place=place,
        place_latitude=latitude,
        place_longitude=longitude,
        place_timezone=timezone,
    )


async def delete_task(session: AsyncSession, *, chat_id: int, number: int) -> bool:
    """Delete the task; False if the chat has no such task. Its number is not given out again."""
    stmt = delete(Task).where(*_task_key(chat_id, number)).returning(Task.id)
    return (await session.execute(stmt)).first() is not None


# Drafts


async def get_draft(session: AsyncSession, *, chat_id: int, user_id: int) -> Draft | None:
    """The user's draft in the chat, or None."""
    return await session.get(Draft, (chat_id, user_id))


async def save_draft(
    session: AsyncSession, *, chat_id: int, user_id: int, title: str | None, now: datetime
) -> Draft:
    """Create or replace the user's draft in the chat."""
    insert = _upsert(session, Draft).values(chat_id=chat_id, user_id=user_id, title=title, created_at=now)
    stmt = insert.on_conflict_do_update(
        index_elements=[Draft.chat_id, Draft.user_id],
        set_={"title": insert.excluded.title, "created_at": insert.excluded.created_at},
    ).returning(Draft)
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).one()


async def delete_draft(session: AsyncSession, *, chat_id: int, user_id: int) -> bool:
    """Delete the user's draft in the chat; False if there was none."""
    stmt = delete(Draft).where(Draft.chat_id == chat_id, Draft.user_id == user_id).returning(Draft.chat_id)
    return (await session.execute(stmt)).first() is not None
