"""Shares: a home or a device granted to another user as `control` or `read`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import shares, users
from ..errors import Conflict
from ..models import Permission, Share

# the column a share points through: a home share or a device share
type ShareScope = Literal["home_id", "device_id"]

_listed = select(shares, users.c.email).join(users, users.c.id == shares.c.grantee_id)


def _target(scope: ShareScope, target_id: str) -> ColumnElement[bool]:
    return shares.c[scope] == target_id


def _share(row: Row[Any]) -> Share:
    return Share(
        id=row.id,
        grantee_id=row.grantee_id,
        grantee_email=row.email,
        home_id=row.home_id,
        device_id=row.device_id,
        permission=Permission(row.permission),
        created_at=row.created_at,
    )


async def insert_share(
    conn: AsyncConnection,
    *,
    share_id: str,
    grantee_id: str,
    grantee_email: str,
    permission: Permission,
    now: datetime,
    scope: ShareScope,
    target_id: str,
) -> Share:
    """Grant `grantee_id` access to one home or one device; `Conflict` if already shared."""
    existing = await conn.execute(
        select(shares.c.id).where(shares.c.grantee_id == grantee_id, _target(scope, target_id))
    )
    if existing.first() is not None:
        raise Conflict("already shared with this user", "share_exists")
    try:
        async with conn.begin_nested():
            await conn.execute(
                shares.insert().values(
                    id=share_id,
                    grantee_id=grantee_id,
                    home_id=target_id if scope == "home_id" else None,
                    device_id=target_id if scope == "device_id" else None,
                    permission=permission.value,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("already shared with this user", "share_exists") from None
    return Share(
        id=share_id,
        grantee_id=grantee_id,
        grantee_email=grantee_email,
        home_id=target_id if scope == "home_id" else None,
        device_id=target_id if scope == "device_id" else None,
        permission=permission,
        created_at=now,
    )


async def list_shares(conn: AsyncConnection, scope: ShareScope, target_id: str) -> list[Share]:
    """Shares of one home or device (the caller has checked it owns it)."""
    rows = await conn.execute(
        _listed.where(_target(scope, target_id)).order_by(shares.c.created_at, shares.c.id)
    )
    return [_share(row) for row in rows]


async def delete_share(
    conn: AsyncConnection, share_id: str, scope: ShareScope, target_id: str
) -> str | None:
    """Revoke share `share_id`, only if it belongs to this home or device; return whom it
    was shared with (None: no such share)."""
    result = await conn.execute(
        delete(shares)
        .where(shares.c.id == share_id, _target(scope, target_id))
        .returning(shares.c.grantee_id)
    )
    row = result.first()
    return None if row is None else str(row.grantee_id)
