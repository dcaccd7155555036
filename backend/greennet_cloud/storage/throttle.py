"""Failed-attempt log for login throttling, shared by every process through the database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import login_failures


async def record_failure(conn: AsyncConnection, key: str, now: datetime) -> None:
    """Note one failed attempt for `key` (an account or a client address)."""
    await conn.execute(login_failures.insert().values(key=key, failed_at=now))


async def recent_failures(
    conn: AsyncConnection, key: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many failures `key` has since `since`, and the oldest of them."""
    query = select(func.count(), func.min(login_failures.c.failed_at)).where(
        login_failures.c.key == key, login_failures.c.failed_at > since
    )
    count, oldest = (await conn.execute(query)).one()
    if isinstance(oldest, str):  # SQLite returns aggregates of our type as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest


async def clear_failures(conn: AsyncConnection, key: str) -> None:
    """Forget the failures of `key` (after a successful login)."""
    await conn.execute(delete(login_failures).where(login_failures.c.key == key))


async def prune_failures(conn: AsyncConnection, before: datetime) -> None:
    """Drop failures older than any window still being counted."""
    await conn.execute(delete(login_failures).where(login_failures.c.failed_at <= before))
