"""Notifications for a home's linked Home Assistant: an outbox event becomes a `notification`
message on every live link of the home (on whichever process holds each).

The event is the one webhooks get (`id`, `type`, `timestamp`, `title`, `message`, `data`,
`url`). Its `notification_id` is stable per alert (`greennet_alert_<alert id>`), so Home
Assistant's persistent notification for a resolved alert replaces the one it raised; other
events keep their own id.
"""

from __future__ import annotations

from typing import Any

from ..delivery.senders import DeliveryFailed
from ..models import OutboxMessage
from .messages import notification
from .node import LinkNode


def notification_id_for(event: dict[str, Any]) -> str:
    """The persistent-notification id Home Assistant files the event under."""
    data = event.get("data")
    alert_id = data.get("alert_id") if isinstance(data, dict) else None
    if isinstance(alert_id, str) and alert_id:
        return f"greennet_alert_{alert_id}"
    return f"greennet_{event.get('id', 'notification')}"


class HubNotifications:
    """Sends outbox events to the hubs linked to a home: the outbox's Home Assistant channel."""

    def __init__(self, node: LinkNode) -> None:
        self.node = node

    async def deliver(self, home_id: str, event: dict[str, Any]) -> int:
        """Send `event` to every live hub of `home_id`; how many took it (0: none is
        connected, so the caller keeps the event and tries again later)."""
        fields = notification(
            str(event.get("title") or "GreenNet"),
            str(event.get("message") or ""),
            notification_id_for(event),
        )
        return await self.node.notify(home_id, fields)

    async def send(self, message: OutboxMessage) -> None:
        """The outbox's sender: deliver to the home's hubs, or fail (retried with backoff)
        while none is connected, so the event reaches Home Assistant once it links again."""
        if await self.deliver(message.recipient, message.payload) == 0:
            raise DeliveryFailed("no Home Assistant hub of this home is connected")
