"""job runs: the background job runner's ledger (once per interval across processes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Column, Integer, String

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `job_runs`."""
    op.create_table(
        "job_runs",
        Column("name", String(64), primary_key=True),
        Column("started_at", UtcDateTime),
        Column("finished_at", UtcDateTime),
        Column("runs", Integer, nullable=False),
        Column("runner", String(100)),
        Column("last_error", String(500)),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
