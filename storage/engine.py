"""Engines, sessions and schema migrations.

SQLite connections run in WAL mode with a 5 s busy timeout and foreign keys on, and SQLAlchemy (not the
sqlite3 driver) emits `BEGIN`, so every statement of a transaction, reads included, is inside it. The
default is a deferred `BEGIN`; a transaction that reads before it writes and must not lose a race can
ask for `BEGIN IMMEDIATE`, which takes the write lock up front (waiting up to the busy timeout)::

    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        ...

or for a whole engine: `engine.execution_options(sqlite_begin="IMMEDIATE")`. PostgreSQL ignores it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BEGIN = "sqlite_begin"
"""Execution option naming the SQLite `BEGIN` mode: "DEFERRED" (default), "IMMEDIATE" or "EXCLUSIVE"."""

SQLITE_BUSY_TIMEOUT_MS = 5000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def make_engine(url: str) -> AsyncEngine:
    """An async engine for a `sqlite+aiosqlite` or `postgresql+asyncpg` URL."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def writing(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A write transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE), so a read-then-write
    cannot fail half-way with "database is locked"; on PostgreSQL a plain transaction."""
    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        yield session


def _sqlite_on_connect(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling would skip BEGIN before SELECTs; _sqlite_on_begin takes over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in ("journal_mode=WAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
            cursor.fetchall()
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


async def upgrade_database(url: str) -> None:
    """Migrate the database to the newest schema, creating a SQLite file (and its folder) if needed."""
    await _run_alembic(url, "upgrade", "head")


async def downgrade_database(url: str, revision: str = "base") -> None:
    """Migrate the database down to `revision`; "base" drops every table."""
    await _run_alembic(url, "downgrade", revision)


async def _run_alembic(url: str, action: str, revision: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Config values go through configparser, which treats "%" as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_alembic_sync, config, action, revision)
    finally:
        await engine.dispose()


def _run_alembic_sync(connection: Connection, config: Config, action: str, revision: str) -> None:
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
