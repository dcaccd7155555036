"""Throttling in sliding windows: failed logins per account and per client address, pairing
code guesses per address, and registrations per address.

Attempts live in the database so every process sees them. A blocked attempt is refused
before any work is done and is not itself recorded, so nobody can extend a block: it always
ends `window_seconds` after the attempts that caused it. A key is `<namespace>:<value>`;
each throttle prunes only its own namespaces, so windows of different lengths coexist.
Every per-address key counts the client's network (`client_network`), not the raw address.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import LoginThrottle, RegistrationThrottle
from ..errors import Throttled
from ..storage import throttle as store

FAILED_ATTEMPTS = "too many failed attempts; try again later"
REGISTRATIONS = "too many accounts registered from this address; try again later"


def account_key(email: str) -> str:
    """Throttle key of an account (by normalized email, so unknown accounts count too)."""
    return f"account:{email}"


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


class Throttle:
    """Counts attempts per key in a sliding window and refuses keys over their limit."""

    def __init__(self, window_seconds: int, limits: Mapping[str, int], refusal: str) -> None:
        self.window = timedelta(seconds=window_seconds)
        self.limits = dict(limits)  # namespace → attempts allowed per window
        self.refusal = refusal

    def limit(self, key: str) -> int:
        """Attempts allowed for `key` within the window."""
        return self.limits[_namespace(key)]

    async def check(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """`Throttled` (with the seconds to wait) if any key is over its limit."""
        since = now - self.window
        wait = 0.0
        for key in keys:
            count, oldest = await store.recent_failures(conn, key, since)
            if count >= self.limit(key) and oldest is not None:
                wait = max(wait, (oldest + self.window - now).total_seconds())
        if wait > 0:
            raise Throttled(self.refusal, math.ceil(wait))

    async def record(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """Record one attempt for every key (and forget this throttle's expired attempts)."""
        if not keys:
            return
        await store.prune_failures(
            conn, now - self.window, sorted({_namespace(key) for key in keys})
        )
        for key in keys:
            await store.record_failure(conn, key, now)

    async def take(self, conn: AsyncConnection, keys: list[str], now: datetime) -> None:
        """Check and record one attempt as one step, serialized per key across processes."""
        for key in sorted(keys):  # one lock order, so two takers cannot deadlock
            await store.lock_key(conn, key)
        await self.check(conn, keys, now)
        await self.record(conn, keys, now)

    async def succeeded(self, conn: AsyncConnection, key: str) -> None:
        """Clear `key` after a success (the account, not the address)."""
        await store.clear_failures(conn, key)


def login_throttle(policy: LoginThrottle) -> Throttle:
    """Failed logins (and password checks) per account and address, pairing guesses too."""
    limits = {"account": policy.per_account, "address": policy.per_address}
    return Throttle(policy.window_seconds, limits | {"pair": policy.per_address}, FAILED_ATTEMPTS)


def registration_throttle(policy: RegistrationThrottle) -> Throttle:
    """Accounts registered per client address."""
    return Throttle(policy.window_seconds, {"register": policy.per_address}, REGISTRATIONS)
