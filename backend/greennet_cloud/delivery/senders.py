"""What every channel's sender looks like, and how a failed send is classified."""

from __future__ import annotations

from typing import Protocol

from ..models import OutboxMessage


class DeliveryFailed(Exception):
    """A send did not go through. `permanent`: retrying cannot help (the message is dropped)."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after  # seconds the receiver asked us to wait


class Sender(Protocol):
    """Sends one outbox message over one channel, or raises `DeliveryFailed`."""

    async def send(self, message: OutboxMessage) -> None:
        """Deliver `message`; return only once the receiver accepted it."""
        ...


class HomeAssistantSender(Sender, Protocol):
    """Delivers a notification to the Home Assistant hub linked to a home (issue #13).

    `message.recipient` is the home id and `message.payload` the event (`id`, `type`,
    `timestamp`, `title`, `message`, `data`, `url`), the same object webhooks get. Raise
    `DeliveryFailed` (not permanent) while the hub is not connected: the outbox keeps the
    message and retries with backoff, so it arrives once when the hub is back.
    """
