"""Homes: create, list, rename, delete; pairing codes, home shares and HA link tokens."""

from __future__ import annotations

import functools
import logging
import math
import re
import secrets
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..db.fast_reads import Reader, fast_reads
from ..errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from ..models import Access, Home, LinkToken, Role, Tariff
from ..security.tokens import hash_secret, new_secret
from ..storage import devices as device_store
from ..storage import homes as home_store
from ..storage import links as link_store
from .base import (
    Principal,
    Service,
    clean_name,
    effective_access,
    new_id,
    require_access,
)
from .notifier import Notifier
from .shares import Shares, ShareTarget

_LOGGER = logging.getLogger(__name__)
MAX_PRICE_PER_KWH = 1000.0
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# no 0/O/1/I: codes are read off a screen and typed on a phone
PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LINK_PREFIX = "gnl"


@dataclass(frozen=True, slots=True)
class PairingCode:
    """A short-lived, single-use code that adds a plug to a home."""

    code: str
    home_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HomeChanges:
    """What an owner may change on a home; None leaves a field as it is."""

    name: str | None = None
    timezone: str | None = None
    tariff: Tariff | None = None
    clear_tariff: bool = False


@dataclass(frozen=True, slots=True)
class NewLinkToken:
    """A link token and its secret, shown once."""

    link: LinkToken
    token: str


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    """An IANA time zone name this server knows (`Europe/Berlin`, `UTC`)."""
    if name not in _zones():
        raise InvalidInput(f"unknown time zone {name[:64]!r}", "invalid_timezone")
    return name


def check_tariff(tariff: Tariff) -> Tariff:
    """A finite, non-negative price and an ISO 4217 currency code."""
    price = tariff.price_per_kwh
    if not (math.isfinite(price) and 0 <= price <= MAX_PRICE_PER_KWH):
        raise InvalidInput(f"price_per_kwh must be from 0 to {MAX_PRICE_PER_KWH}", "invalid_tariff")
    if not CURRENCY_RE.fullmatch(tariff.currency):
        raise InvalidInput("currency must be three capital letters (ISO 4217)", "invalid_tariff")
    return tariff


def normalize_pairing_code(code: str) -> str:
    """Upper case without separators, as stored (hashed)."""
    return "".join(char for char in code.upper() if char.isalnum())


async def visible_home(db: Reader, principal: Principal, home_id: str) -> tuple[Home, Access]:
    """The home if the caller may see it (else `NotFound`), with the caller's access."""
    found = await home_store.get_home(db, principal.user_id, home_id)
    if found is None:
        raise NotFound("no such home", "not_found")
    home, access = found
    return home, effective_access(access, principal.user)


HOME = ShareTarget("home", "home_id", visible_home)


class Homes(Service):
    """Use cases around homes."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        pairing_ttl_seconds: int,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__(engine, clock)
        self.pairing_ttl = timedelta(seconds=pairing_ttl_seconds)
        self.shares = Shares(engine, clock, HOME, notifier)
        # awaited after the commit with the ids of link tokens that stopped being valid
        # (revoked, or deleted with their home): the HA link closes their live links
        self.link_token_listeners: list[Callable[[list[str]], Awaitable[None]]] = []

    async def list_homes(self, principal: Principal) -> list[tuple[Home, Access]]:
        """Homes the caller owns or has been shared."""
        found = await home_store.list_homes(fast_reads(self.engine), principal.user_id)
        return [(home, effective_access(access, principal.user)) for home, access in found]

    async def create_home(self, principal: Principal, name: str, timezone: str = "UTC") -> Home:
        """A new home owned by the caller (guests cannot own homes)."""
        if principal.user.role is Role.GUEST:
            raise Forbidden("guests cannot create homes", "forbidden")
        name = clean_name(name, "home name")
        timezone = check_timezone(timezone)
        async with self.engine.begin() as conn:
            return await home_store.insert_home(
                conn,
                owner_id=principal.user_id,
                home_id=new_id(),
                name=name,
                now=self.now(),
                timezone=timezone,
            )

    async def get_home(self, principal: Principal, home_id: str) -> tuple[Home, Access]:
        """One home the caller may see."""
        return await visible_home(fast_reads(self.engine), principal, home_id)

    async def update_home(self, principal: Principal, home_id: str, changes: HomeChanges) -> Home:
        """Rename a home the caller owns, set its time zone or its tariff."""
        values: dict[str, object] = {}
        if changes.name is not None:
            values["name"] = clean_name(changes.name, "home name")
        if changes.timezone is not None:
            values["timezone"] = check_timezone(changes.timezone)
        if changes.tariff is not None:
            tariff = check_tariff(changes.tariff)
            values["tariff_price_per_kwh"] = tariff.price_per_kwh
            values["tariff_currency"] = tariff.currency
        elif changes.clear_tariff:
            values["tariff_price_per_kwh"] = values["tariff_currency"] = None
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "change this home")
            if values:
                await home_store.update_home(conn, principal.user_id, home_id, values)
            home, _access = await visible_home(conn, principal, home_id)
        return home

    async def delete_home(self, principal: Principal, home_id: str) -> None:
        """Delete a home the caller owns, with everything in it."""
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "delete this home")
            token_ids = await link_store.token_ids_of_home(conn, home_id)
            await home_store.delete_home(conn, principal.user_id, home_id)
        await self._link_tokens_ended(token_ids)

    async def create_pairing_code(self, principal: Principal, home_id: str) -> PairingCode:
        """A fresh single-use pairing code for a home the caller owns."""
        raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        now = self.now()
        expires_at = now + self.pairing_ttl
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "pair plugs into this home")
            await device_store.insert_pairing_code(
                conn, home_id=home_id, code_hash=hash_secret(raw), now=now, expires_at=expires_at
            )
        return PairingCode(code=f"{raw[:4]}-{raw[4:]}", home_id=home_id, expires_at=expires_at)

    async def list_link_tokens(self, principal: Principal, home_id: str) -> list[LinkToken]:
        """Active HA link tokens of a home the caller owns."""
        async with reading(self.engine).begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "see this home's link tokens")
            return await link_store.list_link_tokens(conn, home_id)

    async def create_link_token(
        self, principal: Principal, home_id: str, name: str
    ) -> NewLinkToken:
        """A new link token for a HA hub; the secret is returned once and stored hashed."""
        name = clean_name(name, "link token name", allow_empty=True) or "Home Assistant"
        token = new_secret(LINK_PREFIX)
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "link hubs to this home")
            link = await link_store.insert_link_token(
                conn,
                home_id=home_id,
                token_id=new_id(),
                name=name,
                token_hash=hash_secret(token),
                now=self.now(),
            )
        return NewLinkToken(link=link, token=token)

    async def revoke_presented_link_token(self, token: str) -> None:
        """A hub unlinking revokes its own link token (it proves possession by presenting it)."""
        async with self.engine.begin() as conn:
            link = await link_store.find_active_link_token(conn, hash_secret(token), None)
            if link is None:
                raise Unauthenticated("unknown or revoked link token", "invalid_link_token")
            await link_store.revoke_link_token(conn, link.home_id, link.id, self.now())
        await self._link_tokens_ended([link.id])  # its live link closes (4001), on any node

    async def revoke_link_token(self, principal: Principal, home_id: str, token_id: str) -> None:
        """Revoke a link token of a home the caller owns."""
        async with self.engine.begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "revoke this home's link tokens")
            if not await link_store.revoke_link_token(conn, home_id, token_id, self.now()):
                raise NotFound("no such link token", "not_found")
        await self._link_tokens_ended([token_id])

    async def _link_tokens_ended(self, token_ids: list[str]) -> None:
        if not token_ids:
            return
        for listener in list(self.link_token_listeners):
            try:
                await listener(token_ids)
            except Exception:  # the link's heartbeat re-checks its token anyway
                _LOGGER.exception("link token listener %r failed", listener)
