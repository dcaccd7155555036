"""Login throttling per account and per client address.

Failures live in the database so every process sees them. A blocked attempt is refused
before the password is checked and is not itself recorded, so an attacker cannot extend
a lockout: it always ends `window_seconds` after the failures that caused it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import LoginThrottle
from ..errors import Throttled
from ..storage import throttle as store


def account_key(email: str) -> str:
    """Throttle key of an account (by normalized email, so unknown accounts count too)."""
    return f"account:{email}"


def address_key(address: str) -> str:
    """Throttle key of a client address."""
    return f"address:{address}"


class Throttle:
    """Counts failures in a sliding window and refuses attempts over the limits."""

    def __init__(self, policy: LoginThrottle) -> None:
        self.policy = policy

    @property
    def window(self) -> timedelta:
        """How long a failure counts."""
        return timedelta(seconds=self.policy.window_seconds)

    def limit(self, key: str) -> int:
        """Failures allowed for `key` within the window."""
        return self.policy.per_account if key.startswith("account:") else self.policy.per_address

    async def check(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """`Throttled` (with the seconds to wait) if any key is over its limit."""
        since = now - self.window
        wait = 0.0
        for key in keys:
            count, oldest = await store.recent_failures(conn, key, since)
            if count >= self.limit(key) and oldest is not None:
                wait = max(wait, (oldest + self.window - now).total_seconds())
        if wait > 0:
            raise Throttled("too many failed attempts; try again later", math.ceil(wait))

    async def failed(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """Record one failure for every key (and forget failures older than the window)."""
        await store.prune_failures(conn, now - self.window)
        for key in keys:
            await store.record_failure(conn, key, now)

    async def succeeded(self, conn: AsyncConnection, key: str) -> None:
        """Clear `key` after a success (the account, not the address)."""
        await store.clear_failures(conn, key)
