"""rollup_claimed: the minutes a rollup run took off `rollup_pending`, kept until it is done.

The run moves the pending marks here in a transaction of its own, so ingest, which marks
its minutes in `rollup_pending` again, never waits for the run's row locks (PostgreSQL) or
its computation (SQLite); marks left by a run that died are taken by the next one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, PrimaryKeyConstraint

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `rollup_claimed`."""
    op.create_table(
        "rollup_claimed",
        Column(
            "device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False
        ),
        Column("bucket", BigInteger, nullable=False),
        PrimaryKeyConstraint("device_seq", "bucket", name="pk_rollup_claimed"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
