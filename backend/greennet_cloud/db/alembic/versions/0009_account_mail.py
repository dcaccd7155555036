"""account mail: single-use tokens (e-mail verification, password reset), verified addresses.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Column, ForeignKey, Index, String

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36


def upgrade() -> None:
    """Create the account mail tables."""
    op.create_table(
        "account_tokens",
        Column("token_hash", String(64), primary_key=True),
        Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("purpose", String(16), nullable=False),
        Column("email", String(254), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Column("used_at", UtcDateTime),
        Index("ix_account_tokens_user", "user_id", "purpose"),
    )
    op.create_table(
        "verified_emails",
        Column(
            "user_id",
            String(ID),
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("email", String(254), primary_key=True),
        Column("verified_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
