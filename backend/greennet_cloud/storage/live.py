"""What the live socket's background check reads: devices that just went quiet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import devices


async def devices_gone_quiet(
    conn: AsyncConnection, after: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(device id, home id, last seen in Unix ms) of devices last seen in (after, until]."""
    rows = await conn.execute(
        select(devices.c.id, devices.c.home_id, devices.c.last_seen_at).where(
            devices.c.last_seen_at > after, devices.c.last_seen_at <= until
        )
    )
    return [(row.id, row.home_id, int(row.last_seen_at.timestamp() * 1000)) for row in rows]
