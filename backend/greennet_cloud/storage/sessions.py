"""Login sessions and their rotating refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.fast_reads import Reader, ReadQuery, read_first
from ..db.schema import refresh_tokens, sessions
from ..models import RefreshToken, Session


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at or row.created_at,
    )


async def create_session(
    conn: AsyncConnection, *, user_id: str, session_id: str, now: datetime, expires_at: datetime
) -> None:
    """Start a session for `user_id`."""
    await conn.execute(
        sessions.insert().values(
            id=session_id,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            last_used_at=now,
        )
    )


_session_of_user = ReadQuery(
    select(sessions).where(
        sessions.c.id == bindparam("session_id"), sessions.c.user_id == bindparam("user_id")
    )
)


async def get_session(db: Reader, user_id: str, session_id: str) -> Session | None:
    """Session `session_id` of `user_id` (revoked or not)."""
    params = {"session_id": session_id, "user_id": user_id}
    row = await read_first(db, _session_of_user, params)
    return _session(row) if row else None


async def add_refresh_token(
    conn: AsyncConnection, *, session_id: str, token_hash: str, now: datetime
) -> None:
    """Store the hash of a new refresh token in `session_id`."""
    await conn.execute(
        refresh_tokens.insert().values(token_hash=token_hash, session_id=session_id, created_at=now)
    )


async def find_refresh_token(
    conn: AsyncConnection, token_hash: str
) -> tuple[RefreshToken, Session] | None:
    """The refresh token with this hash and its session (the token is its own scope)."""
    query = (
        select(
            refresh_tokens.c.token_hash,
            refresh_tokens.c.session_id,
            refresh_tokens.c.created_at.label("token_created_at"),
            refresh_tokens.c.used_at,
            sessions.c.user_id,
            sessions.c.created_at,
            sessions.c.expires_at,
            sessions.c.revoked_at,
            sessions.c.last_used_at,
        )
        .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
        .where(refresh_tokens.c.token_hash == token_hash)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    token = RefreshToken(
        token_hash=row.token_hash,
        session_id=row.session_id,
        created_at=row.token_created_at,
        used_at=row.used_at,
    )
    session = Session(
        id=row.session_id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at or row.created_at,
    )
    return token, session


async def mark_refresh_token_used(conn: AsyncConnection, token_hash: str, now: datetime) -> bool:
    """Atomically consume a refresh token; False when it was already used (reuse)."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    return result.rowcount == 1


async def revoke_sessions(
    conn: AsyncConnection,
    user_id: str,
    now: datetime,
    reason: str,
    *,
    only: str | None = None,
    keep: str | None = None,
) -> list[str]:
    """Revoke live sessions of `user_id` (just `only`, or all but `keep`); return their ids.

    The one way any session ends early (logout, reuse, password or e-mail change, two-factor
    changes, admin action, idle timeout), so a cache of live sessions has one place to hear
    about it.
    """
    query = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if only is not None:
        query = query.where(sessions.c.id == only)
    if keep is not None:
        query = query.where(sessions.c.id != keep)
    result = await conn.execute(
        query.values(revoked_at=now, revoked_reason=reason).returning(sessions.c.id)
    )
    return [row.id for row in result]


async def touch_session(conn: AsyncConnection, session_id: str, now: datetime) -> None:
    """Note that `session_id` was used now (login, refresh): it is not idle."""
    await conn.execute(update(sessions).where(sessions.c.id == session_id).values(last_used_at=now))


async def list_live_sessions(conn: AsyncConnection, user_id: str, now: datetime) -> list[Session]:
    """Unrevoked, unexpired sessions of `user_id`, most recently used first."""
    rows = await conn.execute(
        select(sessions)
        .where(
            sessions.c.user_id == user_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
        )
        .order_by(sessions.c.last_used_at.desc(), sessions.c.id)
    )
    return [_session(row) for row in rows]
