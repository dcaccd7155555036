"""telemetry: raw samples (partitioned by day on PostgreSQL), rollups, ingest replay guard.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

metadata = MetaData()
Table("devices", metadata, Column("seq", Integer, primary_key=True))  # referenced only


def _device_seq() -> Column[int]:
    return Column(
        "device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False
    )


telemetry = Table(
    "telemetry",
    metadata,
    _device_seq(),
    Column("ts", BigInteger, nullable=False),
    Column("power", Float, nullable=False),
    Column("voltage", Float, nullable=False),
    Column("current", Float, nullable=False),
    Column("energy", Float, nullable=False),
    Column("relay", Boolean, nullable=False),
    PrimaryKeyConstraint("device_seq", "ts", name="pk_telemetry"),
    postgresql_partition_by="RANGE (ts)",
    sqlite_with_rowid=False,
)
rollups = [
    Table(
        name,
        metadata,
        _device_seq(),
        Column("bucket", BigInteger, nullable=False),
        Column("samples", Integer, nullable=False),
        Column("power_min", Float, nullable=False),
        Column("power_max", Float, nullable=False),
        Column("power_sum", Float, nullable=False),
        Column("energy", Float, nullable=False),
        PrimaryKeyConstraint("device_seq", "bucket", name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )
    for name in ("telemetry_1m", "telemetry_1h", "telemetry_1d")
]
rollup_pending = Table(
    "rollup_pending",
    metadata,
    _device_seq(),
    Column("bucket", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_seq", "bucket", name="pk_rollup_pending"),
    sqlite_with_rowid=False,
)
ingest_signatures = Table(
    "ingest_signatures",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_ingest_signatures_expires", "expires_at"),
)


def upgrade() -> None:
    """Create the telemetry tables (partitions come later, per day, from the service)."""
    metadata.create_all(
        op.get_bind(), tables=[telemetry, *rollups, rollup_pending, ingest_signatures]
    )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
