"""Attempt log for throttling (failed logins, pairing guesses, registrations), shared by every
process through the database. Keys are `<namespace>:<value>`; the table is named for its
first use."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, text
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


async def prune_failures(conn: AsyncConnection, before: datetime, namespaces: list[str]) -> None:
    """Drop attempts older than `before` under these key namespaces (windows differ by one)."""
    await conn.execute(
        delete(login_failures).where(
            login_failures.c.failed_at <= before,
            or_(*(login_failures.c.key.startswith(f"{name}:") for name in namespaces)),
        )
    )


async def lock_key(conn: AsyncConnection, key: str) -> None:
    """Serialize checking and recording `key` across processes until the transaction ends.

    SQLite writers are serialized already (BEGIN IMMEDIATE); PostgreSQL needs a lock, or
    two processes could both see one attempt left and both take it.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
