"""Devices (plugs), their ingest credentials and pairing codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import device_credentials, devices, homes, pairing_codes, shares
from ..errors import Conflict
from ..models import Access, Device, DeviceCredential, Permission


def _device(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        home_id=row.home_id,
        name=row.name,
        model=row.model,
        location=row.location,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


def _owned_home_ids(owner_id: str) -> Any:
    return select(homes.c.id).where(homes.c.owner_id == owner_id)


async def insert_device(conn: AsyncConnection, device: Device) -> Device:
    """Register a device in its home; `Conflict` when the plug id is already registered."""
    exists = await conn.execute(select(devices.c.id).where(devices.c.id == device.id))
    if exists.first() is not None:
        raise Conflict("this plug is already registered", "device_exists")
    try:
        async with conn.begin_nested():
            await conn.execute(
                devices.insert().values(
                    id=device.id,
                    home_id=device.home_id,
                    name=device.name,
                    model=device.model,
                    location=device.location,
                    created_at=device.created_at,
                    last_seen_at=device.last_seen_at,
                )
            )
    except IntegrityError:
        raise Conflict("this plug is already registered", "device_exists") from None
    return device


async def list_devices(
    conn: AsyncConnection, user_id: str, home_id: str | None = None
) -> list[tuple[Device, Access]]:
    """Devices `user_id` may see (own homes, shared homes, shared devices), best access."""
    home_shares = select(shares.c.home_id).where(
        shares.c.grantee_id == user_id, shares.c.home_id.is_not(None)
    )
    device_shares = select(shares.c.device_id).where(
        shares.c.grantee_id == user_id, shares.c.device_id.is_not(None)
    )
    query = (
        select(devices, homes.c.owner_id)
        .join(homes, homes.c.id == devices.c.home_id)
        .where(
            or_(
                homes.c.owner_id == user_id,
                devices.c.home_id.in_(home_shares),
                devices.c.id.in_(device_shares),
            )
        )
        .order_by(devices.c.created_at, devices.c.id)
    )
    if home_id is not None:
        query = query.where(devices.c.home_id == home_id)
    rows = list(await conn.execute(query))
    if not rows:
        return []
    grants = await _grants(conn, user_id)
    return [(_device(row), _best_access(row, user_id, grants)) for row in rows]


async def get_device(
    conn: AsyncConnection, user_id: str, device_id: str
) -> tuple[Device, Access] | None:
    """Device `device_id` if `user_id` may see it, with the best access any grant gives."""
    query = (
        select(devices, homes.c.owner_id)
        .join(homes, homes.c.id == devices.c.home_id)
        .where(devices.c.id == device_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    if row.owner_id == user_id:
        return _device(row), Access.OWNER
    grants = await _grants(conn, user_id)
    if (row.home_id not in grants) and (row.id not in grants):
        return None
    return _device(row), _best_access(row, user_id, grants)


async def _grants(conn: AsyncConnection, user_id: str) -> dict[str, Permission]:
    """Share permissions of `user_id`, keyed by home id or device id."""
    rows = await conn.execute(
        select(shares.c.home_id, shares.c.device_id, shares.c.permission).where(
            shares.c.grantee_id == user_id
        )
    )
    return {(row.home_id or row.device_id): Permission(row.permission) for row in rows}


def _best_access(row: Row[Any], user_id: str, grants: dict[str, Permission]) -> Access:
    if row.owner_id == user_id:
        return Access.OWNER
    found = [Access(grants[key].value) for key in (row.home_id, row.id) if key in grants]
    return max(found, key=lambda access: access.rank)


async def update_device(
    conn: AsyncConnection, owner_id: str, device_id: str, values: dict[str, str]
) -> bool:
    """Change name/model/location of a device in a home `owner_id` owns."""
    result = await conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.home_id.in_(_owned_home_ids(owner_id)))
        .values(**values)
    )
    return result.rowcount > 0


async def delete_device(conn: AsyncConnection, owner_id: str, device_id: str) -> bool:
    """Remove a device from a home `owner_id` owns (credentials and shares go with it)."""
    result = await conn.execute(
        delete(devices).where(
            devices.c.id == device_id, devices.c.home_id.in_(_owned_home_ids(owner_id))
        )
    )
    return result.rowcount > 0


async def insert_credential(conn: AsyncConnection, credential: DeviceCredential) -> None:
    """Store a new ingest credential (its nonce; the secret is derived)."""
    await conn.execute(
        device_credentials.insert().values(
            id=credential.id,
            device_id=credential.device_id,
            nonce=credential.nonce,
            key_id=credential.key_id,
            created_at=credential.created_at,
            revoked_at=None,
        )
    )


async def list_credentials(conn: AsyncConnection, device_id: str) -> list[DeviceCredential]:
    """Ingest credentials of `device_id`, newest first."""
    rows = await conn.execute(
        select(device_credentials)
        .where(device_credentials.c.device_id == device_id)
        .order_by(device_credentials.c.created_at.desc(), device_credentials.c.id)
    )
    return [
        DeviceCredential(
            id=row.id,
            device_id=row.device_id,
            nonce=row.nonce,
            key_id=row.key_id,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


async def revoke_credentials(
    conn: AsyncConnection, device_id: str, now: datetime, credential_id: str | None = None
) -> int:
    """Revoke one (or every) active credential of `device_id`; return how many."""
    query = update(device_credentials).where(
        device_credentials.c.device_id == device_id, device_credentials.c.revoked_at.is_(None)
    )
    if credential_id is not None:
        query = query.where(device_credentials.c.id == credential_id)
    result = await conn.execute(query.values(revoked_at=now))
    return int(result.rowcount)


async def insert_pairing_code(
    conn: AsyncConnection, *, home_id: str, code_hash: str, now: datetime, expires_at: datetime
) -> None:
    """Store a pairing code (hash) for `home_id`."""
    await conn.execute(
        pairing_codes.insert().values(
            code_hash=code_hash, home_id=home_id, created_at=now, expires_at=expires_at
        )
    )


async def claim_pairing_code(conn: AsyncConnection, code_hash: str, now: datetime) -> str | None:
    """Consume an unexpired, unused pairing code atomically; return its home id."""
    row = (
        await conn.execute(
            select(pairing_codes.c.home_id).where(
                pairing_codes.c.code_hash == code_hash,
                pairing_codes.c.used_at.is_(None),
                pairing_codes.c.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    result = await conn.execute(
        update(pairing_codes)
        .where(pairing_codes.c.code_hash == code_hash, pairing_codes.c.used_at.is_(None))
        .values(used_at=now)
    )
    return str(row.home_id) if result.rowcount == 1 else None
