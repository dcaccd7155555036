"""security hardening: session idle time, keyring ids, recovery codes, invitations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Issue #14. Existing rows: sessions count as used when they were created; device
credentials were derived with the single signing secret, whose keyring id is `root`
(security/keyring.py derives the same key from it, so they keep working); TOTP secrets are
encrypted with the keyring the service (or `greennet-cloud migrate`) hands over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from greennet_cloud.db.types import UtcDateTime
from greennet_cloud.security.keyring import Keyring

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = 36
LEGACY_KEY_ID = "root"


def upgrade() -> None:
    """Add the columns and tables; fill the new columns of existing rows.

    No batch (copy-and-move) operation: on SQLite, dropping the old copy of a parent table
    inside the migration's transaction (where foreign keys cannot be switched off) would
    cascade-delete its children. Plain ADD COLUMN is enough here.
    """
    op.add_column("sessions", sa.Column("last_used_at", UtcDateTime))
    op.execute("UPDATE sessions SET last_used_at = created_at")
    op.add_column(
        "device_credentials",
        sa.Column("key_id", sa.String(32), nullable=False, server_default=LEGACY_KEY_ID),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("device_credentials", "key_id", server_default=None)
    _seal_totp_secrets()
    op.create_index("ix_login_failures_time", "login_failures", ["failed_at"])
    op.create_table(
        "recovery_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(ID),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("used_at", UtcDateTime),
    )
    op.create_index("ix_recovery_codes_user", "recovery_codes", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(254)),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column(
            "created_by",
            sa.String(ID),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("accepted_at", UtcDateTime),
        sa.Column("accepted_by", sa.String(ID), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.create_index("ix_invitations_created_by", "invitations", ["created_by"])


def _seal_totp_secrets() -> None:
    """Widen `users.totp_secret` and encrypt the plain secrets in it with the keyring.

    The column is rebuilt (a wider sibling, then renamed back by drop and add) rather than
    altered: SQLite has no ALTER COLUMN, and its copy-and-move would cascade-delete.
    """
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")
    ).all()
    keyring: Keyring | None = context.config.attributes.get("keyring")
    op.add_column("users", sa.Column("totp_sealed", sa.String(255)))
    for user_id, secret in rows:
        if keyring is None:
            raise RuntimeError("revision 0006 encrypts TOTP secrets: run it with the keyring")
        bind.execute(
            sa.text("UPDATE users SET totp_sealed = :sealed WHERE id = :id"),
            {"sealed": keyring.seal_totp_secret(secret), "id": user_id},
        )
    op.drop_column("users", "totp_secret")
    op.add_column("users", sa.Column("totp_secret", sa.String(255)))
    op.execute("UPDATE users SET totp_secret = totp_sealed")
    op.drop_column("users", "totp_sealed")


def downgrade() -> None:
    """Not supported: restore a backup instead (see docs/backend.md)."""
    raise NotImplementedError("GreenNet Cloud migrations are forward-only")
