"""Queries on chats, tasks and drafts.

Every function takes the session first and keyword arguments after it; the caller owns the transaction
(nothing here commits). Task queries are always scoped by chat id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, Draft, Task


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
) -> Task:
    """Add a task under the chat's next number; raises ChatNotFoundError for an unknown chat."""
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


async def set_task_done(
    session: AsyncSession, *, chat_id: int, number: int, done: bool, now: datetime
) -> Task | None:
    """Mark the task done (at `now`) or open again; None if the chat has no such task."""
    return await _update_task(
        session, chat_id=chat_id, number=number, done=done, done_at=now if done else None
    )


async def set_task_title(session: AsyncSession, *, chat_id: int, number: int, title: str) -> Task | None:
    """Retitle the task; None if the chat has no such task."""
    return await _update_task(session, chat_id=chat_id, number=number, title=title)


async def set_task_due(
    session: AsyncSession, *, chat_id: int, number: int, due_at: datetime | None, rule: str | None
) -> Task | None:
    """Set the task's due time and recurrence rule; None if the chat has no such task."""
    return await _update_task(session, chat_id=chat_id, number=number, due_at=due_at, rule=rule)


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
