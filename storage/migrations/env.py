"""Alembic environment: migrates over the connection that `storage.engine` passes in.

Run through `storage.engine.upgrade_database`; logging is left to the application (no `fileConfig`).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from storage.engine import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter a table only by copying it, which batch mode does.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Offline (--sql) migrations are not supported")

passed_connection = config.attributes.get("connection")
if passed_connection is not None:
    run_migrations(passed_connection)
else:
    # The `alembic` command line, with `sqlalchemy.url` in its ini file.
    asyncio.run(run_with_own_engine(config.get_main_option("sqlalchemy.url") or ""))
