"""Security notifications: a sign-in from a network the account has not signed in from
before, a password changed (by its owner, a reset link or an administrator), two-factor
turned on or off. Each is a notification of its own type, so its owner chooses where it
goes (in the app, by mail, to their webhook), like any other.

The account services call these after their own transaction committed; "new network" is
the network per-address throttling counts (an IPv4 address, an IPv6 /64 by default), and
an account's first sign-in only records its network.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..models import NotificationType
from ..storage import login_networks as network_store
from .base import Service
from .notifier import NotificationDraft, Notifier
from .throttle import client_network

HOW_PASSWORD_CHANGED = {
    "changed": "Your GreenNet password was changed, and your other sessions were signed out.",
    "admin": "An administrator set a new password on your GreenNet account, and every session"
    " was signed out.",
}
CHECK_IT = " If this was not you, reset your password now and check your two-factor settings."


class SecurityEvents(Service):
    """Raises the security notifications of an account."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, notifier: Notifier, ipv6_prefix: int
    ) -> None:
        super().__init__(engine, clock)
        self.notifier = notifier
        self.ipv6_prefix = ipv6_prefix

    async def signed_in(self, user_id: str, address: str) -> None:
        """A successful sign-in from `address`: tell the owner when its network is new."""
        network = client_network(address, self.ipv6_prefix)
        now = self.now()
        async with self.engine.begin() as conn:
            first_ever, new = await network_store.record_sign_in(conn, user_id, network, now)
            if new and not first_ever:
                raised = await self.notifier.notify(
                    conn,
                    [user_id],
                    NotificationDraft(
                        NotificationType.NEW_LOGIN,
                        "New sign-in to your GreenNet account",
                        f"Your account was signed in to from a network it had not used before"
                        f" ({network}) at {_when(now)}." + CHECK_IT,
                        {"network": network},
                    ),
                    now,
                )
            else:
                raised = None
        if raised is not None:
            await self.notifier.announce(raised)

    async def password_changed(self, user_id: str, how: str) -> None:
        """The password was changed ("changed" by its owner, "admin")."""
        await self._tell(
            user_id,
            NotificationType.PASSWORD_CHANGED,
            "Your GreenNet password was changed",
            HOW_PASSWORD_CHANGED[how] + CHECK_IT,
            {"how": how},
        )

    async def two_factor_changed(
        self, user_id: str, enabled: bool, *, by_admin: bool = False
    ) -> None:
        """Two-factor authentication was turned on or off."""
        state = "on" if enabled else "off"
        who = "An administrator turned" if by_admin else "You turned"
        await self._tell(
            user_id,
            NotificationType.TOTP_CHANGED,
            f"Two-factor authentication is {state}",
            f"{who} two-factor authentication {state} for your GreenNet account; your other"
            " sessions were signed out." + CHECK_IT,
            {"enabled": enabled, "by_admin": by_admin},
        )

    async def _tell(
        self, user_id: str, kind: NotificationType, title: str, body: str, data: dict[str, object]
    ) -> None:
        now = self.now()
        async with self.engine.begin() as conn:
            raised = await self.notifier.notify(
                conn, [user_id], NotificationDraft(kind, title, body, dict(data)), now
            )
        await self.notifier.announce(raised)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
