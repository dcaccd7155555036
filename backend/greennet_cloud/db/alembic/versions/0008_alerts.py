"""alerts: thresholds per device, alerts and their history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36


def upgrade() -> None:
    """Create the threshold and alert tables."""
    op.create_table(
        "thresholds",
        Column("id", String(ID), primary_key=True),
        Column(
            "device_id",
            String(ID),
            ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("name", String(100), nullable=False),
        Column("metric", String(16), nullable=False),
        Column("direction", String(8), nullable=False),
        Column("value", Float, nullable=False),
        Column("hysteresis", Float, nullable=False),
        Column("duration_seconds", Integer, nullable=False),
        Column("repeat", String(8), nullable=False),
        Column("quiet_start", String(5)),
        Column("quiet_end", String(5)),
        Column("enabled", Boolean, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("pending_since", UtcDateTime),
        Column("armed", Boolean, nullable=False),
        Index("ix_thresholds_device", "device_id"),
        Index("ix_thresholds_metric", "metric"),
    )
    op.create_table(
        "alerts",
        Column("id", String(ID), primary_key=True),
        Column("threshold_id", String(ID), ForeignKey("thresholds.id", ondelete="SET NULL")),
        Column(
            "device_id",
            String(ID),
            ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("metric", String(16), nullable=False),
        Column("direction", String(8), nullable=False),
        Column("limit_value", Float, nullable=False),
        Column("state", String(16), nullable=False),
        Column("value", Float),
        Column("raised_at", UtcDateTime, nullable=False),
        Column("acknowledged_at", UtcDateTime),
        Column("acknowledged_by", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
        Column("resolved_at", UtcDateTime),
        Column("resolved_by", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
        Column("last_notified_at", UtcDateTime),
        Index("ix_alerts_device_raised", "device_id", "raised_at"),
        Index("ix_alerts_threshold_state", "threshold_id", "state"),
        Index("ix_alerts_state", "state"),
    )
    op.create_table(
        "alert_events",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("alert_id", String(ID), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("user_id", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
        Column("detail", String(200), nullable=False),
        Index("ix_alert_events_alert", "alert_id", "at"),
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
