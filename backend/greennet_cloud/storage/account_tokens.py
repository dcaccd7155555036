"""Single-use mailed tokens (hash only) and the addresses accounts have verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import account_tokens, users, verified_emails

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose, not a secret)


@dataclass(frozen=True, slots=True)
class ClaimedToken:
    """A token just consumed: whose, and for which address."""

    user_id: str
    email: str


async def insert_token(
    conn: AsyncConnection,
    *,
    token_hash: str,
    user_id: str,
    purpose: str,
    email: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new token; earlier unused tokens of the same purpose stop working."""
    await conn.execute(
        update(account_tokens)
        .where(
            account_tokens.c.user_id == user_id,
            account_tokens.c.purpose == purpose,
            account_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    await conn.execute(
        account_tokens.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            purpose=purpose,
            email=email,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def claim_token(
    conn: AsyncConnection, token_hash: str, purpose: str, now: datetime
) -> ClaimedToken | None:
    """Consume an unused, unexpired token of `purpose` atomically (None: not usable)."""
    row = (
        await conn.execute(
            select(account_tokens.c.user_id, account_tokens.c.email).where(
                account_tokens.c.token_hash == token_hash,
                account_tokens.c.purpose == purpose,
                account_tokens.c.used_at.is_(None),
                account_tokens.c.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    result = await conn.execute(
        update(account_tokens)
        .where(account_tokens.c.token_hash == token_hash, account_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    return ClaimedToken(row.user_id, row.email) if result.rowcount == 1 else None


async def mark_verified(conn: AsyncConnection, user_id: str, email: str, now: datetime) -> None:
    """Record that the account proved it receives mail at `email`."""
    exists = await conn.execute(
        select(verified_emails.c.email).where(
            verified_emails.c.user_id == user_id, verified_emails.c.email == email
        )
    )
    if exists.first() is None:
        await conn.execute(
            verified_emails.insert().values(user_id=user_id, email=email, verified_at=now)
        )


async def is_verified(conn: AsyncConnection, user_id: str) -> bool:
    """Whether the account's current address is verified."""
    return bool(await verified_user_ids(conn, [user_id]))


async def verified_user_ids(conn: AsyncConnection, user_ids: list[str]) -> set[str]:
    """Which of these accounts have verified their current address."""
    if not user_ids:
        return set()
    rows = await conn.execute(
        select(users.c.id)
        .join(
            verified_emails,
            and_(verified_emails.c.user_id == users.c.id, verified_emails.c.email == users.c.email),
        )
        .where(users.c.id.in_(user_ids))
    )
    return {row.id for row in rows}


async def purge_expired(conn: AsyncConnection, before: datetime) -> None:
    """Forget tokens that expired before `before`."""
    await conn.execute(account_tokens.delete().where(account_tokens.c.expires_at < before))


async def peek_token(
    conn: AsyncConnection, token_hash: str, purpose: str, now: datetime
) -> ClaimedToken | None:
    """A usable token without consuming it (to check a new password before spending it)."""
    row = (
        await conn.execute(
            select(account_tokens.c.user_id, account_tokens.c.email).where(
                account_tokens.c.token_hash == token_hash,
                account_tokens.c.purpose == purpose,
                account_tokens.c.used_at.is_(None),
                account_tokens.c.expires_at > now,
            )
        )
    ).first()
    return ClaimedToken(row.user_id, row.email) if row else None
