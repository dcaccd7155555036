"""The caller's notifications: list, unread count, mark read; channel preferences; webhook."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..delivery.senders import DeliveryFailed
from ..delivery.webhook import WebhookSender, WebhookUrlRefused, check_url
from ..errors import InvalidInput, NotFound
from ..models import Channel, Notification, NotificationType, Webhook, WebhookFormat
from ..security.webhook_signature import secret_text, signing_key
from ..storage import notifications as notification_store
from .base import Principal, Service, new_id
from .notifier import APPLICABLE, Notifier, enabled
from .throttle import Throttle

MAX_PAGE = 200

type Preferences = dict[NotificationType, dict[Channel, bool]]


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """The caller's webhook; `secret` only in the answer that created or rotated it."""

    webhook: Webhook
    secret: str | None


@dataclass(frozen=True, slots=True)
class WebhookTest:
    """The outcome of a test delivery."""

    delivered: bool
    error: str | None


class Notifications(Service):
    """Everything a user does with their own notifications."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        notifier: Notifier,
        webhooks: WebhookSender,
        webhook_tests_per_hour: int,
    ) -> None:
        super().__init__(engine, clock)
        self.notifier = notifier
        self.webhooks = webhooks
        self.test_throttle = Throttle(
            3600, {"webhook_test": webhook_tests_per_hour}, "too many webhook tests; wait a while"
        )

    async def list_notifications(
        self,
        principal: Principal,
        *,
        unread_only: bool = False,
        before: datetime | None = None,
        limit: int = 50,
    ) -> list[Notification]:
        """The caller's notifications, newest first (`before`: older than that, to page)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"'limit' must be from 1 to {MAX_PAGE}", "invalid_input")
        async with reading(self.engine).begin() as conn:
            return await notification_store.list_notifications(
                conn, principal.user_id, unread_only=unread_only, before=before, limit=limit
            )

    async def unread_count(self, principal: Principal) -> int:
        """How many of the caller's notifications are unread."""
        async with reading(self.engine).begin() as conn:
            return await notification_store.count_unread(conn, principal.user_id)

    async def mark_read(self, principal: Principal, notification_id: str) -> Notification:
        """Mark one of the caller's notifications read."""
        async with self.engine.begin() as conn:
            found = await notification_store.mark_read(
                conn, principal.user_id, notification_id, self.now()
            )
        if found is None:
            raise NotFound("no such notification", "not_found")
        return found

    async def mark_all_read(self, principal: Principal) -> int:
        """Mark every notification of the caller read; return how many changed."""
        async with self.engine.begin() as conn:
            return await notification_store.mark_all_read(conn, principal.user_id, self.now())

    # --- preferences --------------------------------------------------------------------

    async def preferences(self, principal: Principal) -> Preferences:
        """Every type with the channels it may use and whether each is on."""
        async with reading(self.engine).begin() as conn:
            choices = await notification_store.preference_choices(conn, [principal.user_id])
        return _effective(choices[principal.user_id])

    async def update_preferences(
        self, principal: Principal, changes: Mapping[NotificationType, Mapping[Channel, bool]]
    ) -> Preferences:
        """Turn channels on or off per type; what is not mentioned stays as it is."""
        for kind, channels in changes.items():
            for channel in channels:
                if channel not in APPLICABLE[kind]:
                    raise InvalidInput(
                        f"'{kind.value}' notifications cannot go to '{channel.value}'",
                        "invalid_input",
                    )
        async with self.engine.begin() as conn:
            stored = await notification_store.preference_choices(conn, [principal.user_id])
            choices = dict(stored[principal.user_id])
            for kind, channels in changes.items():
                for channel, on in channels.items():
                    choices[(kind, channel)] = on
            await notification_store.save_preference_choices(conn, principal.user_id, choices)
        return _effective(choices)

    def available_channels(self) -> dict[Channel, bool]:
        """Which channels this service delivers over (webhook: once the caller sets one)."""
        return {channel: self.notifier.available(channel) for channel in Channel}

    # --- webhook ------------------------------------------------------------------------

    async def get_webhook(self, principal: Principal) -> Webhook:
        """The caller's webhook (`NotFound` when none is set)."""
        async with reading(self.engine).begin() as conn:
            webhook = await notification_store.get_webhook(conn, principal.user_id)
        if webhook is None:
            raise NotFound("no webhook is set", "not_found")
        return webhook

    async def set_webhook(
        self, principal: Principal, url: str, webhook_format: WebhookFormat | None
    ) -> WebhookSettings:
        """Set the caller's webhook URL (and format). The signing secret is made, and shown,
        the first time; changing the URL keeps it."""
        try:
            check_url(url, allow_private=self.webhooks.allow_private)
        except WebhookUrlRefused as err:
            raise InvalidInput(str(err), "invalid_webhook_url") from None
        now = self.now()
        async with self.engine.begin() as conn:
            current = await notification_store.get_webhook(conn, principal.user_id)
            webhook = Webhook(
                user_id=principal.user_id,
                url=url,
                format=webhook_format or (current.format if current else WebhookFormat.JSON),
                nonce=current.nonce if current else secrets.token_hex(16),
                key_id=current.key_id if current else self.webhooks.keys.current.id,
                created_at=current.created_at if current else now,
                updated_at=now,
            )
            await notification_store.save_webhook(conn, webhook)
        return WebhookSettings(webhook, None if current else self._secret_of(webhook))

    async def rotate_webhook_secret(self, principal: Principal) -> WebhookSettings:
        """A new signing secret (shown once); the old one stops working at once."""
        now = self.now()
        async with self.engine.begin() as conn:
            current = await notification_store.get_webhook(conn, principal.user_id)
            if current is None:
                raise NotFound("no webhook is set", "not_found")
            webhook = Webhook(
                user_id=current.user_id,
                url=current.url,
                format=current.format,
                nonce=secrets.token_hex(16),
                key_id=self.webhooks.keys.current.id,
                created_at=current.created_at,
                updated_at=now,
            )
            await notification_store.save_webhook(conn, webhook)
        return WebhookSettings(webhook, self._secret_of(webhook))

    async def delete_webhook(self, principal: Principal) -> None:
        """Remove the caller's webhook (queued webhook messages are dropped)."""
        async with self.engine.begin() as conn:
            if not await notification_store.delete_webhook(conn, principal.user_id):
                raise NotFound("no webhook is set", "not_found")

    async def test_webhook(self, principal: Principal) -> WebhookTest:
        """Send a signed test event now (not through the outbox) and say how it went."""
        now = self.now()
        async with self.engine.begin() as conn:
            await self.test_throttle.take(conn, [f"webhook_test:{principal.user_id}"], now)
            webhook = await notification_store.get_webhook(conn, principal.user_id)
        if webhook is None:
            raise NotFound("no webhook is set", "not_found")
        event_id = new_id()
        event: dict[str, Any] = {
            "id": event_id,
            "type": "webhook_test",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "title": "GreenNet test",
            "message": "Your GreenNet webhook works.",
            "data": {},
            "url": f"{self.notifier.config.base_url}/app/",
        }
        try:
            await self.webhooks.post(webhook, event_id, event)
        except DeliveryFailed as failed:
            return WebhookTest(delivered=False, error=failed.reason)
        return WebhookTest(delivered=True, error=None)

    def _secret_of(self, webhook: Webhook) -> str:
        key = self.webhooks.keys.get(webhook.key_id)
        assert key is not None  # just made with the current key
        return secret_text(signing_key(key.material, webhook.user_id, webhook.nonce))


def _effective(choices: notification_store.PreferenceChoices) -> Preferences:
    return {
        kind: {channel: enabled(choices, kind, channel) for channel in APPLICABLE[kind]}
        for kind in NotificationType
    }
