"""login networks: where each account signed in from (new-network sign-in notifications).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Column, ForeignKey, String

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the table (existing accounts start with none: their next sign-in is recorded
    as their first)."""
    op.create_table(
        "login_networks",
        Column(
            "user_id",
            String(36),
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("network", String(64), primary_key=True),
        Column("first_seen", UtcDateTime, nullable=False),
        Column("last_seen", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
