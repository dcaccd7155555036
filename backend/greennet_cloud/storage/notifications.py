"""In-app notifications, channel preferences and webhooks, always scoped to one user."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import notification_preferences, notifications, users, webhooks
from ..models import Channel, Notification, NotificationType, Webhook, WebhookFormat


def _notification(row: Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        user_id=row.user_id,
        type=NotificationType(row.type),
        title=row.title,
        body=row.body,
        data=json.loads(row.data),
        created_at=row.created_at,
        read_at=row.read_at,
    )


async def insert_notification(conn: AsyncConnection, notification: Notification) -> None:
    """Store one notification."""
    await conn.execute(
        notifications.insert().values(
            id=notification.id,
            user_id=notification.user_id,
            type=notification.type.value,
            title=notification.title,
            body=notification.body,
            data=json.dumps(notification.data),
            created_at=notification.created_at,
            read_at=None,
        )
    )


async def list_notifications(
    conn: AsyncConnection,
    user_id: str,
    *,
    unread_only: bool,
    before: datetime | None,
    limit: int,
) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(notifications).where(notifications.c.user_id == user_id)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    if before is not None:
        query = query.where(notifications.c.created_at < before)
    query = query.order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
    return [_notification(row) for row in await conn.execute(query.limit(limit))]


async def count_unread(conn: AsyncConnection, user_id: str) -> int:
    """How many of the user's notifications are unread."""
    query = select(func.count()).where(
        notifications.c.user_id == user_id, notifications.c.read_at.is_(None)
    )
    return int((await conn.execute(query)).scalar_one())


async def mark_read(
    conn: AsyncConnection, user_id: str, notification_id: str, now: datetime
) -> Notification | None:
    """Mark one of the user's notifications read (kept as is when already read)."""
    mine = (notifications.c.id == notification_id) & (notifications.c.user_id == user_id)
    await conn.execute(
        update(notifications).where(mine, notifications.c.read_at.is_(None)).values(read_at=now)
    )
    row = (await conn.execute(select(notifications).where(mine))).first()
    return _notification(row) if row else None


async def mark_all_read(conn: AsyncConnection, user_id: str, now: datetime) -> int:
    """Mark every unread notification of the user read; return how many."""
    result = await conn.execute(
        update(notifications)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount)


# --- preferences ------------------------------------------------------------------------

type PreferenceChoices = dict[tuple[NotificationType, Channel], bool]


async def preference_choices(
    conn: AsyncConnection, user_ids: Iterable[str]
) -> dict[str, PreferenceChoices]:
    """The stored (non-default) choices of each user."""
    ids = list(user_ids)
    found: dict[str, PreferenceChoices] = {user_id: {} for user_id in ids}
    if not ids:
        return found
    rows = await conn.execute(
        select(notification_preferences).where(notification_preferences.c.user_id.in_(ids))
    )
    for row in rows:
        try:
            key = (NotificationType(row.type), Channel(row.channel))
        except ValueError:
            continue  # a type or channel this version no longer has
        found[row.user_id][key] = bool(row.enabled)
    return found


async def save_preference_choices(
    conn: AsyncConnection, user_id: str, choices: PreferenceChoices
) -> None:
    """Replace the user's stored choices."""
    await conn.execute(
        delete(notification_preferences).where(notification_preferences.c.user_id == user_id)
    )
    if choices:
        await conn.execute(
            notification_preferences.insert(),
            [
                {"user_id": user_id, "type": kind.value, "channel": channel.value, "enabled": on}
                for (kind, channel), on in choices.items()
            ],
        )


async def emails_of(conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, str]:
    """The address of each of these accounts."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.email).where(users.c.id.in_(ids)))
    return {row.id: row.email for row in rows}


# --- webhooks ---------------------------------------------------------------------------


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        user_id=row.user_id,
        url=row.url,
        format=WebhookFormat(row.format),
        nonce=row.nonce,
        key_id=row.key_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_webhook(conn: AsyncConnection, user_id: str) -> Webhook | None:
    """The user's webhook, if set."""
    row = (await conn.execute(select(webhooks).where(webhooks.c.user_id == user_id))).first()
    return _webhook(row) if row else None


async def users_with_webhooks(conn: AsyncConnection, user_ids: Iterable[str]) -> set[str]:
    """Which of these users have a webhook."""
    ids = list(user_ids)
    if not ids:
        return set()
    rows = await conn.execute(select(webhooks.c.user_id).where(webhooks.c.user_id.in_(ids)))
    return {row.user_id for row in rows}


async def save_webhook(conn: AsyncConnection, webhook: Webhook) -> None:
    """Create or replace the user's webhook."""
    await conn.execute(delete(webhooks).where(webhooks.c.user_id == webhook.user_id))
    await conn.execute(
        webhooks.insert().values(
            user_id=webhook.user_id,
            url=webhook.url,
            format=webhook.format.value,
            nonce=webhook.nonce,
            key_id=webhook.key_id,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )
    )


async def delete_webhook(conn: AsyncConnection, user_id: str) -> bool:
    """Remove the user's webhook."""
    result = await conn.execute(delete(webhooks).where(webhooks.c.user_id == user_id))
    return result.rowcount > 0
