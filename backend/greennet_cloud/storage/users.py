"""Accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.fast_reads import Reader, ReadQuery, read_first
from ..db.schema import users
from ..errors import Conflict
from ..models import Role, User


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        display_name=row.display_name,
        disabled=bool(row.disabled),
        totp_secret=row.totp_secret,
        totp_enabled=bool(row.totp_enabled),
        totp_last_step=row.totp_last_step,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert_user(
    conn: AsyncConnection,
    *,
    user_id: str,
    email: str,
    password_hash: str,
    role: Role,
    display_name: str,
    now: datetime,
) -> User:
    """Create an account; `Conflict` when the email is taken."""
    values = {
        "id": user_id,
        "email": email,
        "password_hash": password_hash,
        "role": role.value,
        "display_name": display_name,
        "disabled": False,
        "totp_secret": None,
        "totp_enabled": False,
        "totp_last_step": None,
        "created_at": now,
        "updated_at": now,
    }
    if await get_user_by_email(conn, email) is not None:
        raise Conflict("an account with this email exists", "email_taken")
    try:
        # a savepoint keeps the outer transaction usable on PostgreSQL after a race
        async with conn.begin_nested():
            await conn.execute(users.insert().values(values))
    except IntegrityError:
        raise Conflict("an account with this email exists", "email_taken") from None
    return User(
        id=user_id,
        email=email,
        password_hash=password_hash,
        role=role,
        display_name=display_name,
        disabled=False,
        totp_secret=None,
        totp_enabled=False,
        totp_last_step=None,
        created_at=now,
        updated_at=now,
    )


_user_by_id = ReadQuery(select(users).where(users.c.id == bindparam("user_id")))


async def get_user(db: Reader, user_id: str) -> User | None:
    """The account `user_id`, if it exists."""
    row = await read_first(db, _user_by_id, {"user_id": user_id})
    return _user(row) if row else None


async def get_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The account with this (normalized) email, if any."""
    row = (await conn.execute(select(users).where(users.c.email == email))).first()
    return _user(row) if row else None


async def update_user(conn: AsyncConnection, user_id: str, now: datetime, **values: Any) -> None:
    """Change columns of account `user_id`; `Conflict` on a taken email."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                update(users).where(users.c.id == user_id).values(updated_at=now, **values)
            )
    except IntegrityError:
        raise Conflict("an account with this email exists", "email_taken") from None


async def list_all_users(conn: AsyncConnection) -> list[User]:
    """Every account, oldest first (administrators only: the caller checks the role)."""
    rows = await conn.execute(select(users).order_by(users.c.created_at, users.c.id))
    return [_user(row) for row in rows]


async def delete_user(conn: AsyncConnection, user_id: str) -> bool:
    """Delete an account and (by cascade) everything it owns."""
    result = await conn.execute(delete(users).where(users.c.id == user_id))
    return result.rowcount > 0


async def use_totp_step(conn: AsyncConnection, user_id: str, step: int, now: datetime) -> bool:
    """Record `step` as the last TOTP step used, only if it is newer than the stored one.

    One conditional UPDATE: of two parallel requests with the same code, one wins.
    """
    result = await conn.execute(
        update(users)
        .where(
            users.c.id == user_id,
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step, updated_at=now)
    )
    return result.rowcount == 1
