"""notifications: in-app notifications, per-user channel preferences, webhooks, the outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36


def _user_id(primary_key: bool = False) -> Column[str]:
    return Column(
        "user_id",
        String(ID),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    """Create the notification tables."""
    op.create_table(
        "notifications",
        Column("id", String(ID), primary_key=True),
        _user_id(),
        Column("type", String(40), nullable=False),
        Column("title", String(200), nullable=False),
        Column("body", String(2000), nullable=False),
        Column("data", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("read_at", UtcDateTime),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )
    op.create_table(
        "notification_preferences",
        _user_id(primary_key=True),
        Column("type", String(40), primary_key=True),
        Column("channel", String(20), primary_key=True),
        Column("enabled", Boolean, nullable=False),
    )
    op.create_table(
        "webhooks",
        _user_id(primary_key=True),
        Column("url", String(2048), nullable=False),
        Column("format", String(16), nullable=False),
        Column("nonce", String(64), nullable=False),
        Column("key_id", String(32), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "outbox",
        Column("id", String(ID), primary_key=True),
        _user_id(),
        Column("channel", String(20), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("recipient", String(2048), nullable=False),
        Column("payload", Text, nullable=False),
        Column("state", String(10), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("next_attempt_at", UtcDateTime, nullable=False),
        Column("claim_id", String(ID)),
        Column("finished_at", UtcDateTime),
        Column("last_error", String(500)),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_user", "user_id"),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
