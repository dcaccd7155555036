"""The audit trail of remote commands, scoped to their home."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import commands, users
from ..models import CommandRecord


def _record(row: Row[Any]) -> CommandRecord:
    return CommandRecord(
        id=row.id,
        home_id=row.home_id,
        device_id=row.device_id,
        plug_id=row.plug_id,
        user_id=row.user_id,
        user_email=row.email,
        action=row.action,
        params=dict(row.params),
        created_at=row.created_at,
        finished_at=row.finished_at,
        result=row.result,
        state=dict(row.state) if row.state is not None else None,
    )


async def insert_command(
    conn: AsyncConnection,
    *,
    command_id: str,
    home_id: str,
    device_id: str,
    plug_id: str,
    user_id: str,
    action: str,
    params: dict[str, Any],
    now: datetime,
) -> None:
    """Record a command before it is sent (its outcome follows with `finish_command`)."""
    await conn.execute(
        commands.insert().values(
            id=command_id,
            home_id=home_id,
            device_id=device_id,
            plug_id=plug_id,
            user_id=user_id,
            action=action,
            params=params,
            created_at=now,
        )
    )


async def finish_command(
    conn: AsyncConnection,
    command_id: str,
    *,
    result: str,
    state: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Record a command's outcome."""
    await conn.execute(
        update(commands)
        .where(commands.c.id == command_id, commands.c.result.is_(None))
        .values(result=result, state=state, finished_at=now)
    )


async def list_commands(
    conn: AsyncConnection, home_id: str, *, before: datetime | None, limit: int
) -> list[CommandRecord]:
    """Commands of `home_id`, newest first, sent before `before` (exclusive)."""
    query = (
        select(commands, users.c.email)
        .outerjoin(users, users.c.id == commands.c.user_id)
        .where(commands.c.home_id == home_id)
        .order_by(commands.c.created_at.desc(), commands.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(commands.c.created_at < before)
    return [_record(row) for row in await conn.execute(query)]


async def delete_commands_before(conn: AsyncConnection, before: datetime) -> int:
    """Retention: forget commands sent before `before`."""
    result = await conn.execute(commands.delete().where(commands.c.created_at < before))
    return result.rowcount
