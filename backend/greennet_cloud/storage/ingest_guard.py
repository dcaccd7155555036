"""Signatures of accepted device ingest requests, kept until they could not pass the
timestamp window anyway: a request replayed inside the window is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import ingest_signatures


async def remember_signature(conn: AsyncConnection, signature: str, expires_at: datetime) -> bool:
    """Record a signature; False when it was recorded before (a replay)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    result = await conn.execute(
        insert(ingest_signatures)
        .values(signature=signature, expires_at=expires_at)
        .on_conflict_do_nothing()
    )
    return result.rowcount == 1


async def prune_signatures(conn: AsyncConnection, now: datetime) -> int:
    """Forget signatures whose window has passed."""
    result = await conn.execute(
        delete(ingest_signatures).where(ingest_signatures.c.expires_at <= now)
    )
    return int(result.rowcount)
