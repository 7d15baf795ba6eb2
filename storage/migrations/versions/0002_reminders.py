"""Reminders: when each task's next reminder fires, the dispatcher's lease on it, and the task's place.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "remind_at",
    "remind_for",
    "claimed_until",
    "claim_token",
    "attempts",
    "refusals",
    "place_latitude",
    "place_longitude",
    "place_timezone",
)


def upgrade() -> None:
    op.add_column("tasks", sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("remind_for", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("claim_token", sa.String(length=36), nullable=True))
    op.add_column("tasks", sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("tasks", sa.Column("refusals", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("tasks", sa.Column("place_latitude", sa.Float(), nullable=True))
    op.add_column("tasks", sa.Column("place_longitude", sa.Float(), nullable=True))
    op.add_column("tasks", sa.Column("place_timezone", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_tasks_remind_at"), "tasks", ["remind_at"], unique=False)

    # Every open dated task gets its reminder at its due time; the dispatcher decides what is too late.
    tasks = sa.table(
        "tasks",
        sa.column("done", sa.Boolean()),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("remind_at", sa.DateTime(timezone=True)),
        sa.column("remind_for", sa.DateTime(timezone=True)),
    )
    op.execute(
        tasks.update()
        .where(tasks.c.done == sa.false(), tasks.c.due_at.is_not(None))
        .values(remind_at=tasks.c.due_at, remind_for=tasks.c.due_at)
    )


def downgrade() -> None:
    # SQLite cannot drop an indexed column in place: batch mode copies the table there (plain ALTERs on PG).
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index(op.f("ix_tasks_remind_at"))
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
