"""Homes, and what a given user may do with each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.fast_reads import Reader, ReadQuery, read_all, read_first
from ..db.schema import homes, shares
from ..models import Access, Home, Tariff


def _home(row: Row[Any]) -> Home:
    tariff = None
    if row.tariff_price_per_kwh is not None and row.tariff_currency is not None:
        tariff = Tariff(price_per_kwh=row.tariff_price_per_kwh, currency=row.tariff_currency)
    return Home(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        created_at=row.created_at,
        timezone=row.timezone,
        tariff=tariff,
    )


def _access(row: Row[Any], user_id: str) -> Access:
    if row.owner_id == user_id:
        return Access.OWNER
    return Access(row.permission)


_with_share = select(homes, shares.c.permission)


async def insert_home(
    conn: AsyncConnection,
    *,
    owner_id: str,
    home_id: str,
    name: str,
    now: datetime,
    timezone: str = "UTC",
) -> Home:
    """Create a home owned by `owner_id`."""
    await conn.execute(
        homes.insert().values(
            id=home_id, owner_id=owner_id, name=name, created_at=now, timezone=timezone
        )
    )
    return Home(id=home_id, owner_id=owner_id, name=name, created_at=now, timezone=timezone)


# Built once with bound parameters: building this join per request cost about half of a
# home listing's CPU (bench/RESULTS.md).
_caller = bindparam("caller", type_=homes.c.owner_id.type)
_visible = _with_share.outerjoin(
    shares, (shares.c.home_id == homes.c.id) & (shares.c.grantee_id == _caller)
).where(or_(homes.c.owner_id == _caller, shares.c.id.is_not(None)))
_list_visible = ReadQuery(_visible.order_by(homes.c.created_at, homes.c.id))
_get_visible = ReadQuery(_visible.where(homes.c.id == bindparam("home_id", type_=homes.c.id.type)))


async def list_homes(db: Reader, user_id: str) -> list[tuple[Home, Access]]:
    """Homes `user_id` owns or has been shared, with the access each grants."""
    rows = await read_all(db, _list_visible, {"caller": user_id})
    return [(_home(row), _access(row, user_id)) for row in rows]


async def get_home(db: Reader, user_id: str, home_id: str) -> tuple[Home, Access] | None:
    """Home `home_id` if `user_id` may see it, with the access it grants."""
    row = await read_first(db, _get_visible, {"caller": user_id, "home_id": home_id})
    return (_home(row), _access(row, user_id)) if row else None


async def update_home(
    conn: AsyncConnection, owner_id: str, home_id: str, values: dict[str, Any]
) -> bool:
    """Change name, time zone or tariff columns of a home `owner_id` owns."""
    result = await conn.execute(
        update(homes).where(homes.c.id == home_id, homes.c.owner_id == owner_id).values(**values)
    )
    return result.rowcount > 0


async def rename_home(conn: AsyncConnection, owner_id: str, home_id: str, name: str) -> bool:
    """Rename a home `owner_id` owns."""
    return await update_home(conn, owner_id, home_id, {"name": name})


async def delete_home(conn: AsyncConnection, owner_id: str, home_id: str) -> bool:
    """Delete a home `owner_id` owns, with its devices, shares and link tokens."""
    result = await conn.execute(
        delete(homes).where(homes.c.id == home_id, homes.c.owner_id == owner_id)
    )
    return result.rowcount > 0


async def home_of_device(conn: AsyncConnection, home_id: str) -> Home | None:
    """A device's home (its time zone, tariff), for a caller already authorized for the
    device: a device shared alone does not make its home visible, but its energy still
    counts in the home's days."""
    row = (await conn.execute(select(homes).where(homes.c.id == home_id))).first()
    return _home(row) if row else None


async def device_seqs(conn: AsyncConnection, home_id: str) -> list[int]:
    """Telemetry keys of every device in a home."""
    from ..db.schema import devices

    return list(await conn.scalars(select(devices.c.seq).where(devices.c.home_id == home_id)))
