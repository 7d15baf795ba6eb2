"""Throwaway databases for tests: a SQLite file, or a uniquely named PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_ADMIN_DATABASE = "test"
BACKENDS = ("sqlite", "postgresql")


@asynccontextmanager
async def temp_sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a SQLite file (not yet created) under tmp_path."""
    yield f"sqlite+aiosqlite:///{tmp_path / f'taskcast_{uuid.uuid4().hex[:12]}.db'}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DATABASE)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def temp_postgres_url() -> AsyncIterator[str]:
    """A URL of a new, empty PostgreSQL database, dropped on exit. Fails if PostgreSQL is unreachable."""
    name = f"taskcast_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def temp_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the given backend ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        async with temp_sqlite_url(tmp_path) as url:
            yield url
    elif backend == "postgresql":
        async with temp_postgres_url() as url:
            yield url
    else:
        raise ValueError(f"Unknown backend {backend!r}")
