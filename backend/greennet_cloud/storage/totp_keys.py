"""Sealed TOTP secrets by the key that sealed them (re-sealing after a key rotation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import users


def _sealed_with(key_id: str) -> ColumnElement[bool]:
    # a sealed value is `<key id>:<payload>` and key ids never hold ':' (KEY_ID_RE); a prefix
    # comparison, not LIKE, where '_' (allowed in key ids) would match any character
    prefix = key_id + ":"
    return func.substr(users.c.totp_secret, 1, len(prefix)) == prefix


async def sealed_secrets_not_with(
    conn: AsyncConnection, key_id: str, after: str, limit: int
) -> list[tuple[str, str]]:
    """(user id, sealed secret) of accounts whose TOTP secret (pending or enabled) is sealed
    with another key than `key_id`, ids after `after`, at most `limit`."""
    rows = await conn.execute(
        select(users.c.id, users.c.totp_secret)
        .where(
            users.c.totp_secret.is_not(None),
            ~_sealed_with(key_id),
            users.c.id > after,
        )
        .order_by(users.c.id)
        .limit(limit)
    )
    return [(row.id, row.totp_secret) for row in rows]


async def replace_sealed_secret(
    conn: AsyncConnection, user_id: str, old: str, new: str, now: datetime
) -> bool:
    """Store `new` in place of `old`, only if the account still has `old` (an enrolment
    or a reset in between wins)."""
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.totp_secret == old)
        .values(totp_secret=new, updated_at=now)
    )
    return result.rowcount == 1


async def count_sealed_with(conn: AsyncConnection, key_id: str) -> int:
    """How many accounts' TOTP secrets only `key_id` opens."""
    found = await conn.execute(select(func.count()).select_from(users).where(_sealed_with(key_id)))
    return int(found.scalar_one())
