"""A short-lived cache of live sessions, so an authenticated request need not ask the
database whether its session and account are still good.

- An entry lives `ttl_seconds` (app clock) at most and never past its session's expiry.
- `invalidate(session_id)` and `invalidate_user(user_id)` drop entries in this process at
  once, before they return, and in every other process through the bus (PostgreSQL NOTIFY:
  one round trip later). Call them after the transaction that revoked a session or changed
  an account has committed.
- A load that raced an invalidation is not stored (generation check), and a bus gap (its
  PostgreSQL connection dropped) empties the cache. The TTL bounds what a lost message, or
  a writer other processes cannot hear (the `create-admin` command on SQLite), can cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..bus import Bus, BusError, Message
from ..clock import Clock
from ..services.base import Principal

_LOGGER = logging.getLogger(__name__)
CHANNEL = "greennet_sessions"
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    valid_until: datetime  # the earlier of the cache TTL and the session's expiry


class SessionCache:
    """Principals by session id; see the module doc for when entries go."""

    def __init__(self, bus: Bus, clock: Clock, ttl_seconds: float) -> None:
        self._bus = bus
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._entries: dict[str, _Entry] = {}
        self._generation = 0

    async def start(self) -> None:
        """Hear other processes' invalidations (call once the bus is started)."""
        await self._bus.subscribe(CHANNEL, self._on_message, self.clear)

    @property
    def generation(self) -> int:
        """Take before loading a session from the database; hand it back to `put`."""
        return self._generation

    def get(self, session_id: str, user_id: str) -> Principal | None:
        """The cached principal of a live session of `user_id`, or None."""
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        if entry.valid_until <= self._clock() or entry.principal.user_id != user_id:
            self._entries.pop(session_id, None)
            return None
        return entry.principal

    def put(self, principal: Principal, session_expires_at: datetime, generation: int) -> None:
        """Remember a principal just loaded, unless anything was invalidated meanwhile."""
        if generation != self._generation or not self._ttl:
            return
        if len(self._entries) >= MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]  # the oldest
        valid_until = min(self._clock() + self._ttl, session_expires_at)
        self._entries[principal.session_id] = _Entry(principal, valid_until)

    async def invalidate(self, session_id: str) -> None:
        """Forget a session here now, and in every other process a moment later."""
        self._drop_session(session_id)
        await self._publish({"session": session_id})

    async def invalidate_user(self, user_id: str) -> None:
        """Forget every session of an account (its sessions or the account changed)."""
        self._drop_user(user_id)
        await self._publish({"user": user_id})

    def clear(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._entries.clear()

    def _drop_session(self, session_id: str) -> None:
        self._generation += 1
        self._entries.pop(session_id, None)

    def _drop_user(self, user_id: str) -> None:
        self._generation += 1
        for session_id in [s for s, e in self._entries.items() if e.principal.user_id == user_id]:
            del self._entries[session_id]

    async def _publish(self, message: Message) -> None:
        try:
            await self._bus.publish(CHANNEL, message)
        except BusError as err:
            _LOGGER.warning(
                "session cache: other processes not told (%s); their entries age out", err
            )

    def _on_message(self, message: Message) -> None:
        if isinstance(session_id := message.get("session"), str):
            self._drop_session(session_id)
        elif isinstance(user_id := message.get("user"), str):
            self._drop_user(user_id)
        else:
            _LOGGER.warning("session cache: ignored a message without session or user")
