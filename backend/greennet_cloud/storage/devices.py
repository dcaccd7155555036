"""Devices (plugs), their ingest credentials and pairing codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import device_credentials, devices, homes, pairing_codes, shares
from ..db.sets import one_of
from ..errors import Conflict
from ..models import Access, Device, DeviceCredential, Permission
from ..protocol import PLUG_ID_RE


def _device(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        seq=row.seq,
        plug_id=row.plug_id,
        home_id=row.home_id,
        name=row.name,
        model=row.model,
        location=row.location,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        relay=row.relay,
        tripped=row.tripped,
        reported_online=row.reported_online,
        state_at=row.state_at,
        link_token_id=row.link_token_id,
    )


def _owned_home_ids(owner_id: str) -> Any:
    return select(homes.c.id).where(homes.c.owner_id == owner_id)


_EXISTS = "this plug is already in this home"


async def insert_device(conn: AsyncConnection, device: Device) -> Device:
    """Add a device to its home; `Conflict` when the home already holds this plug id.

    Only the home's own plug ids are compared: whether another home holds the same plug id
    is never looked at, so no answer can reveal it. `device.seq` is ignored (assigned here).
    """
    if await find_in_home(conn, device.home_id, device.plug_id) is not None:
        raise Conflict(_EXISTS, "device_exists")
    try:
        async with conn.begin_nested():
            result = await conn.execute(
                devices.insert().values(
                    id=device.id,
                    home_id=device.home_id,
                    plug_id=device.plug_id,
                    name=device.name,
                    model=device.model,
                    location=device.location,
                    created_at=device.created_at,
                    last_seen_at=device.last_seen_at,
                )
            )
    except IntegrityError:
        raise Conflict(_EXISTS, "device_exists") from None
    key = result.inserted_primary_key
    assert key is not None
    return replace(device, seq=int(key[0]))


async def find_in_home(conn: AsyncConnection, home_id: str, key: str) -> Device | None:
    """The device of `home_id` whose plug id (or public id) is `key`; the home is the scope."""
    column = devices.c.plug_id if PLUG_ID_RE.fullmatch(key) else devices.c.id
    query = select(devices).where(devices.c.home_id == home_id, column == key)
    row = (await conn.execute(query)).first()
    return _device(row) if row else None


async def plug_held_elsewhere(conn: AsyncConnection, home_id: str, plug_id: str) -> bool:
    """Whether a home other than `home_id` holds this plug id. Only for the linked hub's
    announcement, which refuses such a plug without telling why."""
    query = select(devices.c.seq).where(devices.c.plug_id == plug_id, devices.c.home_id != home_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def devices_in_home(conn: AsyncConnection, home_id: str, keys: set[str]) -> dict[str, Device]:
    """The devices of `home_id` named by plug id or public id, keyed by the name used."""
    plug_ids = {key for key in keys if PLUG_ID_RE.fullmatch(key)}
    ids = keys - plug_ids
    found: dict[str, Device] = {}
    for column, wanted in ((devices.c.plug_id, plug_ids), (devices.c.id, ids)):
        if wanted:
            rows = await conn.execute(
                select(devices).where(devices.c.home_id == home_id, one_of(conn, column, wanted))
            )
            for row in rows:
                found[row.plug_id if column is devices.c.plug_id else row.id] = _device(row)
    return found


async def find_device(conn: AsyncConnection, device_id: str) -> Device | None:
    """The device with this public id, unscoped: only for callers that prove they are the
    device (a signed ingest request, its credentials), never to answer a user."""
    row = (await conn.execute(select(devices).where(devices.c.id == device_id))).first()
    return _device(row) if row else None


async def move_device(conn: AsyncConnection, device_id: str, home_id: str) -> None:
    """Put a device into another home (a claim proven with its credentials)."""
    await conn.execute(update(devices).where(devices.c.id == device_id).values(home_id=home_id))
    await conn.execute(delete(shares).where(shares.c.device_id == device_id))


# moves `last_seen_at` forward, never back; executed with one parameter set per device
SEEN_UPDATE = (
    update(devices)
    .where(
        devices.c.seq == bindparam("seq_"),
        or_(devices.c.last_seen_at.is_(None), devices.c.last_seen_at < bindparam("at_")),
    )
    .values(last_seen_at=bindparam("at_"))
)


def seen_params(seen: dict[int, datetime]) -> list[dict[str, Any]]:
    """Parameter sets of `SEEN_UPDATE` for (device seq → newest sample time)."""
    return [{"seq_": seq, "at_": at} for seq, at in seen.items()]


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


async def list_credentials(
    conn: AsyncConnection, device_id: str, *, active_only: bool = False
) -> list[DeviceCredential]:
    """Ingest credentials of `device_id` (or only its unrevoked ones), newest first."""
    query = (
        select(device_credentials)
        .where(device_credentials.c.device_id == device_id)
        .order_by(device_credentials.c.created_at.desc(), device_credentials.c.id)
    )
    if active_only:
        query = query.where(device_credentials.c.revoked_at.is_(None))
    rows = await conn.execute(query)
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
