"""the HA link: device state reported by the hub, live links per node, the command audit trail.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36


def upgrade() -> None:
    """Add the device state columns; create `live_links` and `commands`."""
    # plain ALTER TABLE ADD COLUMN: never copy `devices` (on SQLite that would cascade deletes)
    with op.batch_alter_table("devices", recreate="never") as batch:
        batch.add_column(Column("relay", Boolean))
        batch.add_column(Column("tripped", Boolean))
        batch.add_column(Column("reported_online", Boolean))
        batch.add_column(Column("state_at", UtcDateTime))
        batch.add_column(Column("link_token_id", String(ID)))
    op.create_index("ix_devices_plug", "devices", ["plug_id"])
    op.create_table(
        "live_links",
        Column(
            "token_id",
            String(ID),
            ForeignKey("link_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
        Column("node_id", String(32), nullable=False),
        Column("connection_id", String(ID), nullable=False),
        Column("connected_at", UtcDateTime, nullable=False),
        Column("heartbeat_at", UtcDateTime, nullable=False),
        Column("hub_id", String(64)),
        Column("sw_version", String(32)),
        Column("ha_version", String(32)),
        Index("ix_live_links_home", "home_id"),
        Index("ix_live_links_node", "node_id"),
    )
    op.create_table(
        "commands",
        Column("id", String(ID), primary_key=True),
        Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
        Column("device_id", String(ID), ForeignKey("devices.id", ondelete="SET NULL")),
        Column("plug_id", String(32), nullable=False),
        Column("user_id", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
        Column("action", String(16), nullable=False),
        Column("params", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime),
        Column("result", String(32)),
        Column("state", JSON),
        Index("ix_commands_home_created", "home_id", "created_at"),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
