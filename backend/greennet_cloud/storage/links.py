"""Link tokens: how a Home Assistant hub authenticates to one home (hashes only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import link_tokens
from ..models import LinkToken


def _token(row: Row[Any]) -> LinkToken:
    return LinkToken(
        id=row.id,
        home_id=row.home_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def insert_link_token(
    conn: AsyncConnection, *, home_id: str, token_id: str, name: str, token_hash: str, now: datetime
) -> LinkToken:
    """Store a new link token for `home_id`."""
    await conn.execute(
        link_tokens.insert().values(
            id=token_id, home_id=home_id, name=name, token_hash=token_hash, created_at=now
        )
    )
    return LinkToken(
        id=token_id, home_id=home_id, name=name, created_at=now, last_used_at=None, revoked_at=None
    )


async def list_link_tokens(conn: AsyncConnection, home_id: str) -> list[LinkToken]:
    """Active link tokens of `home_id`, oldest first."""
    rows = await conn.execute(
        select(link_tokens)
        .where(link_tokens.c.home_id == home_id, link_tokens.c.revoked_at.is_(None))
        .order_by(link_tokens.c.created_at, link_tokens.c.id)
    )
    return [_token(row) for row in rows]


async def revoke_link_token(
    conn: AsyncConnection, home_id: str, token_id: str, now: datetime
) -> bool:
    """Revoke token `token_id` of `home_id`."""
    result = await conn.execute(
        update(link_tokens)
        .where(
            link_tokens.c.id == token_id,
            link_tokens.c.home_id == home_id,
            link_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount > 0


async def find_active_link_token(
    conn: AsyncConnection, token_hash: str, now: datetime | None
) -> LinkToken | None:
    """The unrevoked link token with this hash, marked as used `now` (None: only read)."""
    row = (
        await conn.execute(
            select(link_tokens).where(
                link_tokens.c.token_hash == token_hash, link_tokens.c.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    if now is not None:
        await touch_link_token(conn, row.id, now)
    return _token(row)


async def touch_link_token(conn: AsyncConnection, token_id: str, now: datetime) -> None:
    """Note that the link token was used at `now`."""
    await conn.execute(
        update(link_tokens).where(link_tokens.c.id == token_id).values(last_used_at=now)
    )


async def unrevoked(conn: AsyncConnection, token_ids: set[str]) -> set[str]:
    """Those of `token_ids` that still exist and are not revoked."""
    if not token_ids:
        return set()
    rows = await conn.execute(
        select(link_tokens.c.id).where(
            link_tokens.c.id.in_(sorted(token_ids)), link_tokens.c.revoked_at.is_(None)
        )
    )
    return {row.id for row in rows}


async def token_ids_of_home(conn: AsyncConnection, home_id: str) -> list[str]:
    """Every link token of a home, revoked or not (before the home is deleted)."""
    rows = await conn.execute(select(link_tokens.c.id).where(link_tokens.c.home_id == home_id))
    return [row.id for row in rows]
