"""Live updates: what happened, as small bus messages every process hears (devices going
quiet, alerts, notifications, access changes), and the single-use tickets that open the
websocket. Telemetry needs nothing here: ingest announces every stored batch on its own
channel (`services/ingest.py`, `greennet_telemetry`) and the hub reads that.

Messages go out after the transaction that caused them committed, on the bus channel
`greennet_live`: in this process at once and, on PostgreSQL, in every other process through
one NOTIFY (payloads stay far below PostgreSQL's 8,000 bytes: one alert, one
notification). Delivery is best effort, like the bus: a client that missed something
reloads over the HTTP API (the socket says so with a `resync` message after a gap).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..bus import Bus, BusError, Message
from ..db.engine import reading
from ..errors import Unauthenticated
from ..models import Notification
from ..security.tokens import hash_secret, new_secret
from ..storage import live_tickets as ticket_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from .alerts import AlertChange
from .base import Principal, Service
from .notifier import Raised

_LOGGER = logging.getLogger(__name__)
CHANNEL = "greennet_live"
TICKET_PREFIX = "gnw"
TICKET_TTL = timedelta(seconds=30)


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z`."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class LiveEvents:
    """Publishes what clients may want to see, after the fact, on the bus."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def availability(self, device_id: str, home_id: str, online: bool, ts: int) -> None:
        """A device came online or went offline (`ts`: Unix ms of its last reading)."""
        await self._publish(
            {"type": "availability", "device_id": device_id, "home_id": home_id,
             "online": online, "ts": ts}
        )  # fmt: skip

    async def alert(self, change: AlertChange, alert: dict[str, Any]) -> None:
        """An alert raised, acknowledged or resolved (`alert`: its JSON)."""
        await self._publish(
            {"type": "alert", "device_id": change.alert.device_id,
             "home_id": change.alert.home_id, "change": change.change, "alert": alert}
        )  # fmt: skip

    async def notifications(self, raised: Raised, shaped: Iterable[dict[str, Any]]) -> None:
        """New in-app notifications, each for its user only."""
        for notification, data in zip(raised.stored, shaped, strict=True):
            await self._publish(
                {"type": "notification", "user_id": notification.user_id, "notification": data}
            )

    async def access_changed(self, user_ids: Iterable[str] | None = None) -> None:
        """Who may read what changed (a share revoked, a device or home removed): sockets of
        these users (None: everyone's) check their subscriptions again."""
        await self._publish(
            {"type": "access", "user_ids": None if user_ids is None else sorted(set(user_ids))}
        )

    async def _publish(self, message: Message) -> None:
        try:
            await self.bus.publish(CHANNEL, message)
        except (BusError, ValueError) as err:  # best effort: never fail the caller
            _LOGGER.warning("live: a %s update was not sent: %s", message.get("type"), err)


class LiveTickets(Service):
    """Tickets that open the websocket, and the check that a socket's session still holds."""

    async def issue(self, principal: Principal) -> tuple[str, int]:
        """A new single-use ticket for the caller's session, and its lifetime in seconds."""
        now = self.now()
        ticket = new_secret(TICKET_PREFIX)
        async with self.engine.begin() as conn:
            await ticket_store.insert_ticket(
                conn, ticket_hash=hash_secret(ticket), user_id=principal.user_id,
                session_id=principal.session_id, now=now, expires_at=now + TICKET_TTL,
            )  # fmt: skip
        return ticket, int(TICKET_TTL.total_seconds())

    async def redeem(self, ticket: str) -> Principal:
        """The caller behind a ticket (used up now); `Unauthenticated` otherwise."""
        now = self.now()
        async with self.engine.begin() as conn:
            found = await ticket_store.redeem_ticket(conn, hash_secret(ticket), now)
        if found is None:
            raise Unauthenticated("unknown, used or expired ticket", "invalid_ticket")
        principal = await self.principal(*found)
        if principal is None:
            raise Unauthenticated("this session has ended", "session_revoked")
        return principal

    async def principal(self, user_id: str, session_id: str) -> Principal | None:
        """The principal of a live session (None once revoked, expired or disabled)."""
        now = self.now()
        async with reading(self.engine).begin() as conn:
            user = await user_store.get_user(conn, user_id)
            session = await session_store.get_session(conn, user_id, session_id)
        if user is None or user.disabled or session is None:
            return None
        if session.revoked_at is not None or session.expires_at <= now:
            return None
        return Principal(user=user, session_id=session_id)


def notification_message(notification: Notification) -> dict[str, Any]:
    """A notification as the socket carries it (the API's JSON shape)."""
    return {
        "id": notification.id,
        "type": notification.type.value,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "created_at": timestamp(notification.created_at),
        "read_at": None,
    }
