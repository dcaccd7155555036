"""Device state reported by the linked HA hub (relay, trip, online) and the announcing link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import devices
from ..models import DeviceState


async def update_state(
    conn: AsyncConnection,
    home_id: str,
    device_id: str,
    state: DeviceState,
    at: datetime,
    *,
    changes_only: bool = False,
) -> bool:
    """Set the reported fields of a device of `home_id` (None leaves one as it is), unless a
    newer report is already stored (or, `changes_only`, the stored fields already have these
    values). Returns whether anything was written."""
    fields = {
        devices.c.reported_online: state.online,
        devices.c.relay: state.relay,
        devices.c.tripped: state.tripped,
    }
    values: dict[Any, object] = {devices.c.state_at: at}
    values.update((column, value) for column, value in fields.items() if value is not None)
    conditions = [
        devices.c.id == device_id,
        devices.c.home_id == home_id,
        or_(devices.c.state_at.is_(None), devices.c.state_at <= at),
    ]
    if changes_only:
        conditions.append(
            or_(
                false(),
                *(
                    column.is_distinct_from(value)
                    for column, value in fields.items()
                    if value is not None
                ),
            )
        )
    result = await conn.execute(update(devices).where(*conditions).values(values))
    return result.rowcount > 0


async def set_announcing_link(
    conn: AsyncConnection, home_id: str, device_ids: list[str], token_id: str
) -> None:
    """Remember which hub link announced these devices of `home_id` (routes its commands)."""
    if not device_ids:
        return
    await conn.execute(
        update(devices)
        .where(
            devices.c.home_id == home_id,
            devices.c.id.in_(device_ids),
            or_(devices.c.link_token_id.is_(None), devices.c.link_token_id != token_id),
        )
        .values(link_token_id=token_id)
    )
