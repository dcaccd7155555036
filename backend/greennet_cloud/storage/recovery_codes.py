"""Recovery codes: one-time codes (hash only) that stand in for a TOTP code at login."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import recovery_codes


async def replace_codes(
    conn: AsyncConnection, user_id: str, code_hashes: list[str], now: datetime
) -> None:
    """Forget `user_id`'s codes and store these (hashes) instead."""
    await delete_codes(conn, user_id)
    await conn.execute(
        recovery_codes.insert(),
        [{"code_hash": h, "user_id": user_id, "created_at": now} for h in code_hashes],
    )


async def use_code(conn: AsyncConnection, user_id: str, code_hash: str, now: datetime) -> bool:
    """Spend one unused code of `user_id` (one conditional UPDATE); False if there is none."""
    result = await conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.code_hash == code_hash,
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


async def count_unused(conn: AsyncConnection, user_id: str) -> int:
    """How many of `user_id`'s codes are left."""
    query = select(func.count()).where(
        recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
    )
    return int((await conn.execute(query)).scalar_one())


async def delete_codes(conn: AsyncConnection, user_id: str) -> None:
    """Forget every code of `user_id` (two-factor turned off or reset)."""
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
