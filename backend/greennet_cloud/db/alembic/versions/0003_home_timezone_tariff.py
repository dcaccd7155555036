"""homes: a time zone (energy per local day and month) and an optional tariff.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Float, String

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Existing homes count in UTC until their owner sets a zone; no tariff."""
    # plain ALTER TABLE ADD COLUMN: never copy `homes` (on SQLite that would cascade deletes)
    with op.batch_alter_table("homes", recreate="never") as batch:
        batch.add_column(Column("timezone", String(64), nullable=False, server_default="UTC"))
        batch.add_column(Column("tariff_price_per_kwh", Float))
        batch.add_column(Column("tariff_currency", String(3)))


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
