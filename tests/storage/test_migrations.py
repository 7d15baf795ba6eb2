from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from storage.engine import (
    SQLITE_BEGIN,
    downgrade_database,
    make_engine,
    make_sessionmaker,
    upgrade_database,
)
from storage.models import Base
from tests.dbutil import temp_sqlite_url

APP_TABLES = {"chats", "tasks", "drafts"}
HEAD = "0002"


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


async def test_upgrade_creates_schema(db_url: str) -> None:
    assert await table_names(db_url) >= APP_TABLES
    assert await revision(db_url) == HEAD

    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:

            def shape(c: Connection) -> tuple[Any, ...]:
                insp = inspect(c)
                # PostgreSQL also lists the index behind the unique constraint.
                indexes = [ix for ix in insp.get_indexes("tasks") if "duplicates_constraint" not in ix]
                return (
                    {ix["name"]: ix["column_names"] for ix in indexes},
                    {uq["name"]: uq["column_names"] for uq in insp.get_unique_constraints("tasks")},
                    [
                        (fk["name"], fk["referred_table"], fk["options"])
                        for fk in insp.get_foreign_keys("tasks")
                    ],
                    insp.get_pk_constraint("drafts")["constrained_columns"],
                )

            indexes, uniques, fks, draft_pk = await conn.run_sync(shape)
    finally:
        await engine.dispose()
    assert indexes == {
        "ix_tasks_chat_id_done_due_at": ["chat_id", "done", "due_at"],
        "ix_tasks_remind_at": ["remind_at"],
    }
    assert uniques == {"uq_tasks_chat_id_number": ["chat_id", "number"]}
    assert len(fks) == 1
    name, referred, options = fks[0]
    assert referred == "chats"
    assert {options.get("ondelete"), options.get("onupdate")} == {"CASCADE"}
    assert draft_pk == ["chat_id", "user_id"]
    if "postgresql" in db_url:  # SQLite does not report foreign key names
        assert name == "fk_tasks_chat_id_chats"


async def test_migrations_match_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    await downgrade_database(db_url)
    assert not APP_TABLES & await table_names(db_url)
    assert await revision(db_url) is None

    await upgrade_database(db_url)
    assert await table_names(db_url) >= APP_TABLES
    await upgrade_database(db_url)  # already at head: a no-op
    assert await revision(db_url) == HEAD


async def test_migrations_run_from_any_working_directory(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    await upgrade_database(empty_db_url)
    assert await table_names(empty_db_url) >= APP_TABLES


async def test_upgrade_creates_sqlite_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "taskcast.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_database(url)
    assert path.is_file()
    assert await table_names(url) >= APP_TABLES


async def test_migrations_leave_logging_alone(tmp_path: Path) -> None:
    app_logger = logging.getLogger("taskcast.test")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
    assert not app_logger.disabled
    assert root.handlers == handlers
    assert root.level == level


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
                busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
                foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        finally:
            await engine.dispose()
    assert (journal, busy, foreign_keys) == ("wal", 5000, 1)


def other_writer_can_lock(path: str) -> bool:
    """Whether a second connection can take the write lock right now."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


async def test_sqlite_begin_is_explicit_and_immediate_on_request(tmp_path: Path) -> None:
    async with temp_sqlite_url(tmp_path) as url:
        await upgrade_database(url)
        path = url.removeprefix("sqlite+aiosqlite:///")
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.begin()
                count = text("SELECT count(*) FROM chats")
                assert (await conn.execute(count)).scalar() == 0
                assert other_writer_can_lock(path)  # deferred: no write lock yet
                other = sqlite3.connect(path)
                with other:
                    other.execute("INSERT INTO chats (id, kind, timezone) VALUES (1, 'private', 'UTC')")
                other.close()
                # The first SELECT began the transaction (the sqlite3 driver alone would not), so its
                # snapshot holds: the other connection's insert stays invisible until the next one.
                assert (await conn.execute(count)).scalar() == 0
                await conn.rollback()
                assert (await conn.execute(count)).scalar() == 1
                await conn.rollback()

            async with engine.connect() as conn:
                conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                await conn.begin()
                assert not other_writer_can_lock(path)
                await conn.rollback()
            assert other_writer_can_lock(path)

            # The documented way for a session.
            async with make_sessionmaker(engine)() as session, session.begin():
                await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
                assert not other_writer_can_lock(path)
            assert other_writer_can_lock(path)
        finally:
            await engine.dispose()
