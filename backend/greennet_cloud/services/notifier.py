"""Raising notifications: stored for the app and queued on the outbox in the caller's own
transaction, so a notification exists exactly when the event that caused it committed.

Who gets what follows each user's preferences (type by channel), over the channels this
service can deliver: e-mail only with SMTP configured, webhooks only for users who set one,
the linked Home Assistant once a sender for it is registered (the HA link, issue #13).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Config
from ..models import Channel, Notification, NotificationType, OutboxMessage
from ..storage import account_tokens as token_store
from ..storage import notifications as notification_store
from ..storage import outbox as outbox_store
from ..storage.notifications import PreferenceChoices
from .base import new_id

_LOGGER = logging.getLogger(__name__)

ALERTS = {NotificationType.ALERT_RAISED, NotificationType.ALERT_RESOLVED}
SECURITY = {
    NotificationType.NEW_LOGIN,
    NotificationType.PASSWORD_CHANGED,
    NotificationType.TOTP_CHANGED,
}
# the channels a user may choose for each type (HA hears only about its home's alerts)
APPLICABLE: dict[NotificationType, tuple[Channel, ...]] = {
    kind: (
        (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK, Channel.HOME_ASSISTANT)
        if kind in ALERTS
        else (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK)
    )
    for kind in NotificationType
}
# what is on until a user says otherwise: everything, except mail when an alert ends
DEFAULT_OFF = {(NotificationType.ALERT_RESOLVED, Channel.EMAIL)}
TYPE_LABELS = {
    NotificationType.ALERT_RAISED: "alert raised",
    NotificationType.ALERT_RESOLVED: "alert resolved",
    NotificationType.SHARE_RECEIVED: "shared with you",
    NotificationType.NEW_LOGIN: "new sign-in",
    NotificationType.PASSWORD_CHANGED: "password changed",
    NotificationType.TOTP_CHANGED: "two-factor changed",
}
TITLE_MAX = 200
BODY_MAX = 2000


def enabled(choices: PreferenceChoices, kind: NotificationType, channel: Channel) -> bool:
    """Whether `channel` is on for `kind` under these stored choices."""
    if channel not in APPLICABLE[kind]:
        return False
    return choices.get((kind, channel), (kind, channel) not in DEFAULT_OFF)


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    """What to tell people; `home_id` routes it to that home's linked Home Assistant."""

    type: NotificationType
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    home_id: str | None = None


@dataclass(frozen=True, slots=True)
class Raised:
    """What one `notify` call stored and queued (announce it once the transaction commits)."""

    stored: list[Notification]
    queued: int


type RaisedListener = Callable[[Raised], Awaitable[None]]


class Notifier:
    """Raises notifications in the caller's transaction; announces them after the commit."""

    def __init__(self, config: Config, channel_ready: Callable[[Channel], bool]) -> None:
        self.config = config
        self._channel_ready = channel_ready
        self._listeners: list[RaisedListener] = []

    def listen(self, listener: RaisedListener) -> None:
        """Call `listener` with everything announced (the outbox worker, the live socket)."""
        self._listeners.append(listener)

    def available(self, channel: Channel) -> bool:
        """Whether this service can deliver over `channel` at all."""
        if channel is Channel.IN_APP:
            return True
        if channel is Channel.EMAIL and not self.config.smtp.enabled:
            return False
        return self._channel_ready(channel)

    async def notify(
        self,
        conn: AsyncConnection,
        user_ids: Iterable[str],
        draft: NotificationDraft,
        now: datetime,
        *,
        home_owner_id: str | None = None,
    ) -> Raised:
        """Store and queue `draft` for each user as their preferences say.

        With `draft.home_id`, the home's linked Home Assistant gets it once, as the home's
        owner (`home_owner_id`) chose.
        """
        recipients = sorted(set(user_ids))
        choices = await notification_store.preference_choices(
            conn, [*recipients, *([home_owner_id] if home_owner_id else [])]
        )
        with_webhook = await notification_store.users_with_webhooks(conn, recipients)
        mail_to = await self._mail_recipients(conn, recipients, draft.type, choices)
        title, body = draft.title[:TITLE_MAX], draft.body[:BODY_MAX]
        stored: list[Notification] = []
        messages: list[OutboxMessage] = []
        for user_id in recipients:
            notification_id = new_id()
            mine = choices[user_id]
            if enabled(mine, draft.type, Channel.IN_APP):
                notification = Notification(
                    id=notification_id,
                    user_id=user_id,
                    type=draft.type,
                    title=title,
                    body=body,
                    data=draft.data,
                    created_at=now,
                    read_at=None,
                )
                await notification_store.insert_notification(conn, notification)
                stored.append(notification)
            event = self._event(notification_id, draft, title, body, now)
            if user_id in mail_to:
                messages.append(
                    self._message(user_id, Channel.EMAIL, mail_to[user_id], draft, now,
                                  self._mail(event, draft.type))
                )  # fmt: skip
            if (
                user_id in with_webhook
                and self.available(Channel.WEBHOOK)
                and enabled(mine, draft.type, Channel.WEBHOOK)
            ):
                messages.append(self._message(user_id, Channel.WEBHOOK, user_id, draft, now, event))
        if (
            draft.home_id
            and home_owner_id
            and self.available(Channel.HOME_ASSISTANT)
            and enabled(choices[home_owner_id], draft.type, Channel.HOME_ASSISTANT)
        ):
            event = self._event(new_id(), draft, title, body, now)
            messages.append(
                self._message(home_owner_id, Channel.HOME_ASSISTANT, draft.home_id, draft, now,
                              event)
            )  # fmt: skip
        queued = await outbox_store.enqueue(conn, messages)
        return Raised(stored=stored, queued=queued)

    async def announce(self, raised: Raised) -> None:
        """Tell the listeners (call after the transaction committed)."""
        for listener in self._listeners:
            try:
                await listener(raised)
            except Exception:
                _LOGGER.exception("notification listener failed")

    async def _mail_recipients(
        self,
        conn: AsyncConnection,
        user_ids: list[str],
        kind: NotificationType,
        choices: dict[str, PreferenceChoices],
    ) -> dict[str, str]:
        if not self.available(Channel.EMAIL):
            return {}
        wanted = [user_id for user_id in user_ids if enabled(choices[user_id], kind, Channel.EMAIL)]
        # only to addresses their owners proved they read: no mail to someone else's inbox
        verified = await token_store.verified_user_ids(conn, wanted)
        return await notification_store.emails_of(conn, [u for u in wanted if u in verified])

    def _event(
        self, notification_id: str, draft: NotificationDraft, title: str, body: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "id": notification_id,
            "type": draft.type.value,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "title": title,
            "message": body,
            "data": draft.data,
            "url": f"{self.config.base_url}/app/",
        }

    def _mail(self, event: dict[str, Any], kind: NotificationType) -> dict[str, Any]:
        text = (
            f"{event['message']}\n\nOpen GreenNet: {event['url']}\n\n-- \n"
            f'You get this e-mail because e-mail is on for "{TYPE_LABELS[kind]}" notifications;'
            " change that in GreenNet under Notifications.\n"
        )
        return {"subject": event["title"], "text": text, "notification_id": event["id"]}

    @staticmethod
    def _message(
        user_id: str,
        channel: Channel,
        recipient: str,
        draft: NotificationDraft,
        now: datetime,
        payload: dict[str, Any],
    ) -> OutboxMessage:
        return OutboxMessage(
            id=new_id(),
            user_id=user_id,
            channel=channel,
            kind=draft.type.value,
            recipient=recipient,
            payload=payload,
            created_at=now,
            attempts=0,
        )
