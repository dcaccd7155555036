"""Shares: a home or a device granted to another user as `control` or `read`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import shares, users
from ..errors import Conflict
from ..models import Permission, Share

_listed = select(shares, users.c.email).join(users, users.c.id == shares.c.grantee_id)


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
    home_id: str | None = None,
    device_id: str | None = None,
) -> Share:
    """Grant `grantee_id` access to one home or one device; `Conflict` if already shared."""
    if (home_id is None) == (device_id is None):
        raise ValueError("share exactly one of a home or a device")
    target = shares.c.home_id == home_id if home_id else shares.c.device_id == device_id
    existing = await conn.execute(
        select(shares.c.id).where(shares.c.grantee_id == grantee_id, target)
    )
    if existing.first() is not None:
        raise Conflict("already shared with this user", "share_exists")
    try:
        async with conn.begin_nested():
            await conn.execute(
                shares.insert().values(
                    id=share_id,
                    grantee_id=grantee_id,
                    home_id=home_id,
                    device_id=device_id,
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
        home_id=home_id,
        device_id=device_id,
        permission=permission,
        created_at=now,
    )


async def list_home_shares(conn: AsyncConnection, home_id: str) -> list[Share]:
    """Shares of home `home_id` (the caller has checked it owns the home)."""
    rows = await conn.execute(
        _listed.where(shares.c.home_id == home_id).order_by(shares.c.created_at, shares.c.id)
    )
    return [_share(row) for row in rows]


async def list_device_shares(conn: AsyncConnection, device_id: str) -> list[Share]:
    """Shares of device `device_id` (the caller has checked it owns the device)."""
    rows = await conn.execute(
        _listed.where(shares.c.device_id == device_id).order_by(shares.c.created_at, shares.c.id)
    )
    return [_share(row) for row in rows]


async def delete_share(
    conn: AsyncConnection,
    share_id: str,
    *,
    home_id: str | None = None,
    device_id: str | None = None,
) -> bool:
    """Revoke share `share_id`, only if it belongs to this home or device."""
    if (home_id is None) == (device_id is None):
        raise ValueError("scope the delete by exactly one of a home or a device")
    target = shares.c.home_id == home_id if home_id else shares.c.device_id == device_id
    result = await conn.execute(delete(shares).where(shares.c.id == share_id, target))
    return result.rowcount > 0
