"""The tables: chats, their numbered tasks, and the guided `/add` drafts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

# Explicit constraint/index names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Chat(Base):
    """A Telegram chat; `id` is Telegram's chat id."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(256))
    timezone: Mapped[str] = mapped_column(String(64))
    # The number the chat's next task gets; only ever incremented, so numbers are never reused.
    next_number: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    place_name: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_utc_now, server_default=func.now())


class Task(Base):
    """A task; `number` is its per-chat number, the one users see."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("chat_id", "number"),
        Index(None, "chat_id", "done", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(256))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rule: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the next reminder fires (normally due_at; a snooze moves it); NULL when none is pending.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The occurrence (a due time) the pending reminder is about; it can lag due_at after a snooze.
    remind_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A dispatcher's lease on the reminder; with claim_token NULL, a "not before" backoff after a failure.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(36))
    # Failed sends in a row.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Consecutive sends Telegram refused as a bad request (not network trouble): decides the plain fallback.
    refusals: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The task's own geocoded place (the chat's place is the fallback).
    place_latitude: Mapped[float | None] = mapped_column(Float)
    place_longitude: Mapped[float | None] = mapped_column(Float)
    place_timezone: Mapped[str | None] = mapped_column(String(64))


class Draft(Base):
    """A guided `/add` in progress for one user in one chat; `title` is None until they send it."""

    __tablename__ = "drafts"

    chat_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    title: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
