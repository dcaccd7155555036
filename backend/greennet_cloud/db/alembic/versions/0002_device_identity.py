"""device identity: a surrogate key for devices, the plug id unique per home.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Part 1 used the protocol plug id as the global primary key of `devices`, so a plug id could
live in one home only and claiming one told everybody it existed. Now a device has a UUID
`id` (public) and an integer `seq` (the compact key telemetry rows use), and its `plug_id` is
unique within its home. Existing devices get a fresh UUID; their credentials and shares
follow. Ingest secrets are derived from the plug id and the credential's nonce, both kept,
so every secret handed out before keeps working.

`devices` is referenced by `device_credentials` and `shares`. Rather than altering keys in
place (SQLite would copy `devices` and, with foreign keys on, its implicit DELETE would
cascade), the three small tables are read, dropped and recreated with their rows.
"""

from __future__ import annotations

import uuid
from typing import Any

from alembic import op
from greennet_cloud.db.types import UtcDateTime
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36

old = MetaData()
old_devices = Table(
    "devices",
    old,
    Column("id", String(32), primary_key=True),
    Column("home_id", String(ID)),
    Column("name", String(100)),
    Column("model", String(100)),
    Column("location", String(100)),
    Column("created_at", UtcDateTime),
    Column("last_seen_at", UtcDateTime),
)
old_credentials = Table(
    "device_credentials",
    old,
    Column("id", String(ID), primary_key=True),
    Column("device_id", String(32)),
    Column("nonce", String(64)),
    Column("created_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)
old_shares = Table(
    "shares",
    old,
    Column("id", String(ID), primary_key=True),
    Column("grantee_id", String(ID)),
    Column("home_id", String(ID)),
    Column("device_id", String(32)),
    Column("permission", String(16)),
    Column("created_at", UtcDateTime),
)

new = MetaData()
# `users` and `homes` as far as the new foreign keys need them (not created here)
Table("users", new, Column("id", String(ID), primary_key=True))
Table("homes", new, Column("id", String(ID), primary_key=True))
devices = Table(
    "devices",
    new,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(ID), nullable=False, unique=True),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("plug_id", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("model", String(100), nullable=False),
    Column("location", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime),
    UniqueConstraint("home_id", "plug_id", name="uq_devices_home_plug"),
    sqlite_autoincrement=True,
)
device_credentials = Table(
    "device_credentials",
    new,
    Column("id", String(ID), primary_key=True),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Index("ix_device_credentials_device", "device_id"),
)
shares = Table(
    "shares",
    new,
    Column("id", String(ID), primary_key=True),
    Column("grantee_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE")),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE")),
    Column("permission", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("grantee_id", "home_id", name="uq_shares_grantee_home"),
    UniqueConstraint("grantee_id", "device_id", name="uq_shares_grantee_device"),
    Index("ix_shares_home", "home_id"),
    Index("ix_shares_device", "device_id"),
)


def upgrade() -> None:
    """Give devices a UUID and a seq; re-point credentials and shares; plug id per home."""
    bind = op.get_bind()
    old_rows: list[dict[str, Any]] = [
        dict(row._mapping) for row in bind.execute(select(old_devices).order_by("created_at"))
    ]
    credential_rows = [dict(row._mapping) for row in bind.execute(select(old_credentials))]
    share_rows = [dict(row._mapping) for row in bind.execute(select(old_shares))]
    new_id = {row["id"]: str(uuid.uuid4()) for row in old_rows}
    # children first: with SQLite's foreign keys on, dropping a parent deletes (cascades) rows
    for table in ("shares", "device_credentials", "devices"):
        op.drop_table(table)
    new.create_all(bind, tables=[devices, device_credentials, shares])
    if old_rows:
        bind.execute(
            devices.insert(),
            [{**row, "id": new_id[row["id"]], "plug_id": row["id"]} for row in old_rows],
        )
    if credential_rows:
        bind.execute(
            device_credentials.insert(),
            [{**row, "device_id": new_id[row["device_id"]]} for row in credential_rows],
        )
    if share_rows:
        bind.execute(
            shares.insert(),
            [
                {**row, "device_id": new_id[row["device_id"]] if row["device_id"] else None}
                for row in share_rows
            ],
        )


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
