"""live tickets: single-use tickets that open the live websocket.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Column, ForeignKey, Index, String

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36


def upgrade() -> None:
    """Create the ticket table."""
    op.create_table(
        "live_tickets",
        Column("ticket_hash", String(64), primary_key=True),
        Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column(
            "session_id",
            String(ID),
            ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("created_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Column("used_at", UtcDateTime),
        Index("ix_live_tickets_user", "user_id"),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
