"""Attempt log for throttling (failed logins, pairing guesses, registrations), shared by every
process through the database. Keys are `<namespace>:<value>`; the table is named for its
first use. Every statement a request runs is bounded by one key, so it uses the
`(key, failed_at)` index and never scans the table; `sweep` (a background task) forgets
keys nobody comes back to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import login_failures


async def record_attempt(conn: AsyncConnection, key: str, at: datetime) -> int:
    """Note one attempt for `key` at `at`; return its id (to release it on success)."""
    result = await conn.execute(
        login_failures.insert().values(key=key, failed_at=at).returning(login_failures.c.id)
    )
    return int(result.scalar_one())


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):  # SQLite returns aggregates of our type as text
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def recent_attempts(
    conn: AsyncConnection, key: str, since: datetime
) -> tuple[int, datetime | None, datetime | None]:
    """How many attempts `key` has after `since`, the oldest and the newest of them."""
    query = select(
        func.count(), func.min(login_failures.c.failed_at), func.max(login_failures.c.failed_at)
    ).where(login_failures.c.key == key, login_failures.c.failed_at > since)
    count, oldest, newest = (await conn.execute(query)).one()
    return int(count), _aware(oldest), _aware(newest)


async def release_attempts(conn: AsyncConnection, attempt_ids: Iterable[int]) -> None:
    """Forget these attempts (the request they counted succeeded)."""
    ids = list(attempt_ids)
    if ids:
        await conn.execute(delete(login_failures).where(login_failures.c.id.in_(ids)))


async def clear_key(conn: AsyncConnection, key: str) -> None:
    """Forget every attempt of `key` (after a successful login)."""
    await conn.execute(delete(login_failures).where(login_failures.c.key == key))


async def prune_key(conn: AsyncConnection, key: str, before: datetime) -> None:
    """Drop the attempts of `key` at or before `before` (outside its window)."""
    await conn.execute(
        delete(login_failures).where(
            login_failures.c.key == key, login_failures.c.failed_at <= before
        )
    )


async def sweep(conn: AsyncConnection, before: datetime) -> int:
    """Drop every attempt at or before `before`, whatever its key; return how many."""
    result = await conn.execute(delete(login_failures).where(login_failures.c.failed_at <= before))
    return int(result.rowcount)


async def lock_key(conn: AsyncConnection, key: str) -> None:
    """Serialize checking and recording `key` across processes until the transaction ends.

    SQLite writers are serialized already (BEGIN IMMEDIATE); PostgreSQL needs a lock, or
    two processes could both see one attempt left and both take it.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
