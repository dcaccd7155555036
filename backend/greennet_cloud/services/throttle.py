"""Throttling in sliding windows: failed logins, password checks, pairing-code guesses and
registrations.

Attempts live in the database so every process sees them. An attempt is *taken* before the
costly or secret-revealing work (argon2, a code lookup), under a per-key lock, in one step
with the limit check, so N parallel requests can never all pass a check that only one of
them should; a success *releases* it. A refused attempt is not recorded, so nobody can
extend a block: it always ends `window_seconds` after the attempts that caused it.

Two kinds of key:
- hard keys (`account-network`, `address`, `pair`, `register`) refuse with 429 past their
  limit;
- the soft `account` key never refuses the right password: past `per_account` failures in
  the window, each further attempt on the account waits a growing delay (1 s, 2 s, 4 s …
  up to `max_delay_seconds`), serialized, so guesses from many networks together get at
  most one try per delay while the owner, from any network, still gets in.

A key is `<namespace>:<value>`; every per-address key counts the client's network
(`client_network`), not the raw address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import LoginThrottle, RegistrationThrottle
from ..errors import Throttled
from ..storage import throttle as store

FAILED_ATTEMPTS = "too many failed attempts; try again later"
REGISTRATIONS = "too many accounts registered from this address; try again later"


def account_key(email: str) -> str:
    """Soft throttle key of an account (by normalized email, so unknown accounts count too)."""
    return f"account:{email}"


def account_network_key(email: str, address: str, ipv6_prefix: int) -> str:
    """Hard throttle key of one account from one client network (hashed: bounded length)."""
    pair = f"{email}\n{client_network(address, ipv6_prefix)}"
    return "account-network:" + hashlib.sha256(pair.encode("utf-8", "surrogatepass")).hexdigest()


def client_network(address: str, ipv6_prefix: int) -> str:
    """What per-address throttles count for a client address.

    IPv4: the address. IPv6: its `/ipv6_prefix` network, since one host usually holds a
    whole /64 and could otherwise take a fresh limit from every address in it. IPv4-mapped
    IPv6 (`::ffff:192.0.2.1`, a dual-stack socket's IPv4 peer): the IPv4 address. Anything
    that is not an IP address (`unknown` without a peer, an odd proxy entry): as given.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    # built from the integer, so a zone id (fe80::1%eth0) never splits a network
    return str(ipaddress.IPv6Network((int(ip), ipv6_prefix), strict=False))


def address_key(address: str, ipv6_prefix: int) -> str:
    """Throttle key of a client address (failed logins)."""
    return f"address:{client_network(address, ipv6_prefix)}"


def pairing_key(address: str, ipv6_prefix: int) -> str:
    """Throttle key of a client address (pairing-code guesses)."""
    return f"pair:{client_network(address, ipv6_prefix)}"


def registration_key(address: str, ipv6_prefix: int) -> str:
    """Throttle key of a client address (accounts registered)."""
    return f"register:{client_network(address, ipv6_prefix)}"


def _namespace(key: str) -> str:
    return key.partition(":")[0]


@dataclass(frozen=True, slots=True)
class GrowingDelay:
    """The soft per-account limit: free attempts, then doubling waits up to a cap."""

    free: int
    base_seconds: float
    max_seconds: float

    def wait_after(self, count: int) -> float:
        """The delay before the next attempt when `count` are in the window."""
        if count < self.free:
            return 0.0
        return float(min(self.base_seconds * 2 ** (count - self.free), self.max_seconds))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A taken attempt: its keys and rows (to release on success) and how long it must wait
    first."""

    keys: tuple[str, ...]
    ids: tuple[int, ...]
    wait_seconds: float


class Throttle:
    """Counts attempts per key in a sliding window: hard limits refuse, soft ones delay."""

    def __init__(
        self,
        window_seconds: int,
        limits: Mapping[str, int],
        refusal: str,
        soft: Mapping[str, GrowingDelay] | None = None,
    ) -> None:
        self.window = timedelta(seconds=window_seconds)
        self.limits = dict(limits)  # hard namespace → attempts allowed per window
        self.soft = dict(soft or {})  # soft namespace → its growing delay
        self.refusal = refusal

    def limit(self, key: str) -> int:
        """Attempts allowed for hard `key` within the window."""
        return self.limits[_namespace(key)]

    async def check(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """`Throttled` (with the seconds to wait) if any hard key is over its limit."""
        since = now - self.window
        wait = 0.0
        for key in keys:
            if _namespace(key) in self.soft:
                continue
            count, oldest, _newest = await store.recent_attempts(conn, key, since)
            if count >= self.limit(key) and oldest is not None:
                wait = max(wait, (oldest + self.window - now).total_seconds())
        if wait > 0:
            raise Throttled(self.refusal, math.ceil(wait))

    async def take(self, conn: AsyncConnection, keys: list[str], now: datetime) -> Attempt:
        """Check and record one attempt for every key as one step, serialized per key across
        processes; a soft key's attempt is booked at its turn (`wait_seconds` from now)."""
        await _lock(conn, keys)
        await self.check(conn, keys, now)
        since = now - self.window
        wait = 0.0
        for key in keys:
            delay = self.soft.get(_namespace(key))
            if delay is None:
                continue
            count, _oldest, newest = await store.recent_attempts(conn, key, since)
            if newest is not None:
                turn = (newest - now).total_seconds() + delay.wait_after(count)
                wait = max(wait, turn)
            if wait > delay.max_seconds:  # a queue longer than one delay: come back later
                raise Throttled(self.refusal, math.ceil(wait - delay.max_seconds))
        ids = []
        for key in keys:
            await store.prune_key(conn, key, since)
            at = now + timedelta(seconds=wait) if _namespace(key) in self.soft else now
            ids.append(await store.record_attempt(conn, key, at))
        return Attempt(keys=tuple(keys), ids=tuple(ids), wait_seconds=wait)

    async def release(self, conn: AsyncConnection, attempt: Attempt) -> None:
        """Forget a taken attempt: the request it counted succeeded."""
        await _lock(conn, attempt.keys)
        await store.release_attempts(conn, attempt.ids)

    async def succeeded(self, conn: AsyncConnection, keys: list[str]) -> None:
        """Clear these keys after a success (the account's, never the address's)."""
        await _lock(conn, keys)
        for key in keys:
            await store.clear_key(conn, key)


async def _lock(conn: AsyncConnection, keys: Iterable[str]) -> None:
    # Every writer of a key's rows takes its lock first, in one order (sorted): two
    # successful logins deleting each other's rows of a shared key would deadlock otherwise.
    for key in sorted(set(keys)):
        await store.lock_key(conn, key)


def login_throttle(policy: LoginThrottle) -> Throttle:
    """Password checks per (account, network) and per network (hard), per account (soft
    delays); pairing-code guesses per network (hard)."""
    limits = {
        "account-network": policy.per_account,
        "address": policy.per_address,
        "pair": policy.per_address,
    }
    soft = {
        "account": GrowingDelay(
            free=policy.per_account,
            base_seconds=policy.first_delay_seconds,
            max_seconds=policy.max_delay_seconds,
        )
    }
    return Throttle(policy.window_seconds, limits, FAILED_ATTEMPTS, soft)


def registration_throttle(policy: RegistrationThrottle) -> Throttle:
    """Accounts registered per client address."""
    return Throttle(policy.window_seconds, {"register": policy.per_address}, REGISTRATIONS)


async def sweep_expired_attempts(conn: AsyncConnection, now: datetime, window: timedelta) -> int:
    """Forget every attempt older than `window` (the longest throttle window)."""
    return await store.sweep(conn, now - window)
