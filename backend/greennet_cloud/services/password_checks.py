"""Checking a password (and the second factor) for login and re-authentication: throttled,
counted before argon2 runs, with single-use TOTP steps and recovery codes."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock, Sleep, real_sleep
from ..config import Config
from ..errors import Unauthenticated
from ..models import User
from ..security.keyring import Keyring
from ..security.passwords import PasswordHasher
from ..security.tokens import hash_secret
from ..security.totp import verify_totp
from ..storage import recovery_codes as recovery_store
from ..storage import users as user_store
from .base import Principal, Service
from .throttle import (
    Attempt,
    account_key,
    account_network_key,
    address_key,
    login_throttle,
)

if TYPE_CHECKING:
    from .security_events import SecurityEvents

RECOVERY_CODES = 10
# 24 symbols of 32 (no 0/O/1/I): 120 bits, so a plain SHA-256 of a code is safe to store
# (ASVS 5.0 6.5.2 asks for a salted slow hash below 112 bits)
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 24


def new_recovery_codes() -> list[str]:
    """Fresh recovery codes, formatted `ABCD-EFGH-JKLM-NPQR-STUV-WXYZ` for reading off paper."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """What is stored of a recovery code (typed with or without dashes, any case)."""
    return hash_secret("".join(char for char in code.upper() if char.isalnum()))


def is_totp_code(code: str) -> bool:
    """Six digits (a TOTP code); anything else is tried as a recovery code."""
    code = code.strip()
    return code.isascii() and code.isdigit() and len(code) == 6


class PasswordChecks(Service):
    """Password (and second factor) checks shared by login and re-authentication."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        config: Config,
        hasher: PasswordHasher,
        sleep: Sleep = real_sleep,
    ) -> None:
        super().__init__(engine, clock)
        assert config.keyring is not None
        self.config = config
        self.keyring: Keyring = config.keyring
        self.hasher = hasher
        self.sleep = sleep
        self.throttle = login_throttle(config.login_throttle)
        # security notifications (set by the app; tools that only manage accounts have none)
        self.security: SecurityEvents | None = None

    def password_keys(self, email: str, address: str) -> list[str]:
        """Throttle keys of one password check: the account from this network (hard), the
        network (hard), the account (soft: growing delays, never a lockout)."""
        prefix = self.config.throttle_ipv6_prefix
        return [
            account_network_key(email, address, prefix),
            address_key(address, prefix),
            account_key(email),
        ]

    async def take_password_attempt(self, keys: list[str]) -> Attempt:
        """Count a password check before it runs (429 past a hard limit), then wait its turn."""
        async with self.engine.begin() as conn:
            attempt = await self.throttle.take(conn, keys, self.now())
        if attempt.wait_seconds > 0:
            await self.sleep(attempt.wait_seconds)
        return attempt

    async def second_factor_ok(self, conn: AsyncConnection, user: User, code: str) -> bool:
        """Spend `code` (a TOTP code, or one of the user's recovery codes) for `user`.

        Each is single use even under concurrency: the TOTP step is recorded with one
        conditional UPDATE, a recovery code is marked used the same way.
        """
        now = self.now()
        if not is_totp_code(code):
            return await recovery_store.use_code(conn, user.id, recovery_code_hash(code), now)
        if not user.totp_secret:
            return False
        secret = self.keyring.open_totp_secret(user.totp_secret)
        step = verify_totp(secret, code, now, user.totp_last_step)
        return step is not None and await user_store.use_totp_step(conn, user.id, step, now)

    async def reauthenticate(
        self, principal: Principal, password: str, second_factor: str | None, address: str
    ) -> None:
        """Prove it is still the account's owner before a sensitive change: the current
        password, and a TOTP (or recovery) code when two-factor is on. Throttled like login."""
        user = principal.user
        keys = self.password_keys(user.email, address)
        attempt = await self.take_password_attempt(keys)
        if not await self.hasher.verify_off_loop(user.password_hash, password):
            raise Unauthenticated("the current password is wrong", "invalid_credentials")
        async with self.engine.begin() as conn:
            if user.totp_enabled:
                if not second_factor:
                    await self.throttle.release(conn, attempt)
                    failure = Unauthenticated("a two-factor code is required", "totp_required")
                elif not await self.second_factor_ok(conn, user, second_factor):
                    failure = Unauthenticated("wrong two-factor code", "invalid_totp")
                else:
                    failure = None
            else:
                failure = None
            if failure is None:
                await self.throttle.release(conn, attempt)
        if failure is not None:
            raise failure
