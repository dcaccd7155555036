"""The networks each account has signed in from (for "new sign-in" notifications)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import login_networks


async def record_sign_in(
    conn: AsyncConnection, user_id: str, network: str, now: datetime
) -> tuple[bool, bool]:
    """Note a sign-in of `user_id` from `network`: (first sign-in ever, network is new)."""
    updated = await conn.execute(
        update(login_networks)
        .where(login_networks.c.user_id == user_id, login_networks.c.network == network)
        .values(last_seen=now)
    )
    if updated.rowcount:
        return False, False
    known = await conn.execute(select(func.count()).where(login_networks.c.user_id == user_id))
    first = int(known.scalar_one()) == 0
    await conn.execute(
        login_networks.insert().values(
            user_id=user_id, network=network, first_seen=now, last_seen=now
        )
    )
    return first, True
