"""Single-use websocket tickets (hash only), so a browser can open `/api/v1/ws` without
putting its bearer token in a URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import live_tickets


async def insert_ticket(
    conn: AsyncConnection,
    *,
    ticket_hash: str,
    user_id: str,
    session_id: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new ticket, and forget the user's expired ones."""
    await conn.execute(
        delete(live_tickets).where(
            live_tickets.c.user_id == user_id, live_tickets.c.expires_at < now
        )
    )
    await conn.execute(
        live_tickets.insert().values(
            ticket_hash=ticket_hash,
            user_id=user_id,
            session_id=session_id,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def redeem_ticket(
    conn: AsyncConnection, ticket_hash: str, now: datetime
) -> tuple[str, str] | None:
    """Consume an unused, unexpired ticket atomically: (user id, session id), or None."""
    row = (
        await conn.execute(
            select(live_tickets.c.user_id, live_tickets.c.session_id).where(
                live_tickets.c.ticket_hash == ticket_hash,
                live_tickets.c.used_at.is_(None),
                live_tickets.c.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    result = await conn.execute(
        update(live_tickets)
        .where(live_tickets.c.ticket_hash == ticket_hash, live_tickets.c.used_at.is_(None))
        .values(used_at=now)
    )
    return (row.user_id, row.session_id) if result.rowcount == 1 else None
