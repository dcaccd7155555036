"""Invitations: single-use, expiring tokens (stored hashed) that let someone do one thing
they could not do alone. `kind` says what: "registration" (an account while registration is
by invitation); sharing with an address that has no account will add its own kind, with
what is shared in `details` (JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import invitations


@dataclass(frozen=True, slots=True)
class Invitation:
    """A stored invitation (never its token)."""

    id: str
    kind: str
    email: str | None
    details: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(
        id=row.id,
        kind=row.kind,
        email=row.email,
        details=row.details,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
    )


async def insert_invitation(conn: AsyncConnection, invitation: Invitation, token_hash: str) -> None:
    """Store an invitation under the hash of its token."""
    await conn.execute(
        invitations.insert().values(
            id=invitation.id,
            kind=invitation.kind,
            token_hash=token_hash,
            email=invitation.email,
            details=invitation.details,
            created_by=invitation.created_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )
    )


async def claim_invitation(
    conn: AsyncConnection, kind: str, token_hash: str, now: datetime, accepted_by: str
) -> Invitation | None:
    """Use an open, unexpired invitation of `kind` atomically (one conditional UPDATE: of
    two parallel claims one wins); None when there is no such invitation."""
    result = await conn.execute(
        update(invitations)
        .where(
            invitations.c.token_hash == token_hash,
            invitations.c.kind == kind,
            invitations.c.accepted_at.is_(None),
            invitations.c.expires_at > now,
        )
        .values(accepted_at=now, accepted_by=accepted_by)
        .returning(*invitations.c)
    )
    row = result.first()
    return _invitation(row) if row is not None else None


async def find_open_invitation(
    conn: AsyncConnection, kind: str, token_hash: str, now: datetime
) -> Invitation | None:
    """The open, unexpired invitation of `kind` with this token hash, if any."""
    row = (
        await conn.execute(
            select(invitations).where(
                invitations.c.token_hash == token_hash,
                invitations.c.kind == kind,
                invitations.c.accepted_at.is_(None),
                invitations.c.expires_at > now,
            )
        )
    ).first()
    return _invitation(row) if row is not None else None


async def list_open_invitations(
    conn: AsyncConnection, kind: str, now: datetime, created_by: str | None = None
) -> list[Invitation]:
    """Unused, unexpired invitations of `kind` (only `created_by`'s when given)."""
    query = select(invitations).where(
        invitations.c.kind == kind,
        invitations.c.accepted_at.is_(None),
        invitations.c.expires_at > now,
    )
    if created_by is not None:
        query = query.where(invitations.c.created_by == created_by)
    rows = await conn.execute(query.order_by(invitations.c.created_at, invitations.c.id))
    return [_invitation(row) for row in rows]


async def delete_open_invitation(
    conn: AsyncConnection, kind: str, invitation_id: str, created_by: str | None = None
) -> bool:
    """Withdraw an unused invitation of `kind` (only `created_by`'s when given)."""
    query = delete(invitations).where(
        invitations.c.id == invitation_id,
        invitations.c.kind == kind,
        invitations.c.accepted_at.is_(None),
    )
    if created_by is not None:
        query = query.where(invitations.c.created_by == created_by)
    result = await conn.execute(query)
    return result.rowcount > 0


async def accept_open_for_email(
    conn: AsyncConnection, kind: str, email: str, now: datetime, accepted_by: str
) -> list[Invitation]:
    """Use every open, unexpired invitation of `kind` to `email` (the address was just
    proven); return them."""
    result = await conn.execute(
        update(invitations)
        .where(
            invitations.c.kind == kind,
            invitations.c.email == email,
            invitations.c.accepted_at.is_(None),
            invitations.c.expires_at > now,
        )
        .values(accepted_at=now, accepted_by=accepted_by)
        .returning(*invitations.c)
    )
    return [_invitation(row) for row in result]
