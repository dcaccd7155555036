"""The delivery outbox: messages written with the event they announce, claimed and sent by
any process. On PostgreSQL a claim skips rows another process has locked (`FOR UPDATE SKIP
LOCKED`); on SQLite writers are serialized (`BEGIN IMMEDIATE`). A claim moves the row's
`next_attempt_at` to the end of a lease and tags it with the claimant's id, so no other
process takes it while it is being sent, and a crashed claimant's rows come back after it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import outbox
from ..models import Channel, OutboxMessage

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MAX_ERROR = 500


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        user_id=row.user_id,
        channel=Channel(row.channel),
        kind=row.kind,
        recipient=row.recipient,
        payload=json.loads(row.payload),
        created_at=row.created_at,
        attempts=row.attempts,
    )


async def enqueue(conn: AsyncConnection, messages: Iterable[OutboxMessage]) -> int:
    """Queue messages for delivery (in the caller's transaction); return how many."""
    rows = [
        {
            "id": message.id,
            "user_id": message.user_id,
            "channel": message.channel.value,
            "kind": message.kind,
            "recipient": message.recipient,
            "payload": json.dumps(message.payload),
            "state": PENDING,
            "attempts": 0,
            "created_at": message.created_at,
            "next_attempt_at": message.created_at,
        }
        for message in messages
    ]
    if rows:
        await conn.execute(outbox.insert(), rows)
    return len(rows)


async def claim_due(
    conn: AsyncConnection,
    *,
    now: datetime,
    lease_until: datetime,
    claim_id: str,
    channels: Iterable[Channel],
    limit: int,
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages on these channels for `claim_id` until `lease_until`."""
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.state == PENDING,
            outbox.c.next_attempt_at <= now,
            outbox.c.channel.in_([channel.value for channel in channels]),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row.id for row in await conn.execute(due)]
    if not ids:
        return []
    await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(claim_id=claim_id, next_attempt_at=lease_until, attempts=outbox.c.attempts + 1)
    )
    rows = await conn.execute(select(outbox).where(outbox.c.id.in_(ids)))
    return sorted((_message(row) for row in rows), key=lambda message: ids.index(message.id))


async def finish(
    conn: AsyncConnection,
    message_id: str,
    claim_id: str,
    *,
    state: str,
    now: datetime,
    error: str | None = None,
) -> bool:
    """Record a claimed message as sent or failed for good; False if the claim was lost."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id, outbox.c.claim_id == claim_id)
        .values(state=state, finished_at=now, claim_id=None, last_error=_clip(error))
    )
    return result.rowcount == 1


async def retry_later(
    conn: AsyncConnection, message_id: str, claim_id: str, *, at: datetime, error: str
) -> bool:
    """Release a claimed message to be tried again at `at`."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id, outbox.c.claim_id == claim_id)
        .values(next_attempt_at=at, claim_id=None, last_error=_clip(error))
    )
    return result.rowcount == 1


async def next_due(conn: AsyncConnection, channels: Iterable[Channel]) -> datetime | None:
    """When the earliest pending message on these channels is due."""
    query = select(func.min(outbox.c.next_attempt_at)).where(
        outbox.c.state == PENDING, outbox.c.channel.in_([channel.value for channel in channels])
    )
    value = (await conn.execute(query)).scalar_one()
    if isinstance(value, str):  # SQLite returns aggregates of our type as text
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]


async def purge_finished(conn: AsyncConnection, before: datetime) -> int:
    """Delete sent and failed messages finished before `before`."""
    result = await conn.execute(
        delete(outbox).where(outbox.c.state != PENDING, outbox.c.finished_at < before)
    )
    return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message with its delivery state and the last error, as support sees it."""

    message: OutboxMessage
    state: str
    last_error: str | None


async def messages_of(conn: AsyncConnection, user_id: str) -> list[OutboxEntry]:
    """Every outbox message of a user (oldest first): for tests and support."""
    rows = await conn.execute(
        select(outbox).where(outbox.c.user_id == user_id).order_by(outbox.c.created_at, outbox.c.id)
    )
    return [OutboxEntry(_message(row), row.state, row.last_error) for row in rows]


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:MAX_ERROR]
