"""Optional TOTP two-factor: enroll (secret + otpauth URI), confirm, disable."""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..errors import Conflict, Forbidden
from ..security.session_cache import SessionCache
from ..security.totp import verify_totp
from ..storage import recovery_codes as recovery_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from .admin import TWO_FACTOR_CLEARED
from .base import Principal, Service
from .password_checks import PasswordChecks, new_recovery_codes, recovery_code_hash

ISSUER_NAME = "GreenNet"


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A pending TOTP secret for the authenticator app."""

    secret: str
    otpauth_uri: str


class TwoFactor(Service):
    """TOTP for the calling account: every step re-authenticates (current password, and the
    code once two-factor is on), is throttled like login and ends the other sessions.
    Secrets are stored sealed (keyring); recovery codes are stored hashed."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, checks: PasswordChecks, sessions: SessionCache
    ) -> None:
        super().__init__(engine, clock)
        self.checks = checks
        self.keyring = checks.keyring
        self.sessions = sessions

    async def enroll(self, principal: Principal, password: str, address: str) -> TotpEnrollment:
        """Generate a new pending secret (replacing an unconfirmed one)."""
        if principal.user.totp_enabled:
            raise Conflict("two-factor authentication is already enabled", "totp_enabled")
        await self.checks.reauthenticate(principal, password, None, address)
        secret = pyotp.random_base32()
        async with self.engine.begin() as conn:
            await user_store.update_user(
                conn,
                principal.user_id,
                self.now(),
                totp_secret=self.keyring.seal_totp_secret(secret),
                totp_last_step=None,
            )
        await self.sessions.invalidate_user(principal.user_id)
        uri = pyotp.TOTP(secret).provisioning_uri(
            name=principal.user.email, issuer_name=ISSUER_NAME
        )
        return TotpEnrollment(secret=secret, otpauth_uri=uri)

    async def confirm(
        self, principal: Principal, code: str, password: str, address: str
    ) -> list[str]:
        """Turn two-factor on once the app shows a valid code for the pending secret; return
        the one-time recovery codes (shown once, stored hashed)."""
        user = principal.user
        if user.totp_enabled:
            raise Conflict("two-factor authentication is already enabled", "totp_enabled")
        if not user.totp_secret:
            raise Conflict("enroll first", "totp_not_enrolled")
        await self.checks.reauthenticate(principal, password, None, address)
        now = self.now()
        step = verify_totp(self.keyring.open_totp_secret(user.totp_secret), code, now, None)
        if step is None:
            raise Forbidden("wrong two-factor code", "invalid_totp")
        codes = new_recovery_codes()
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user.id, now, totp_enabled=True, totp_last_step=step)
            await recovery_store.replace_codes(
                conn, user.id, [recovery_code_hash(c) for c in codes], now
            )
            await session_store.revoke_sessions(
                conn, user.id, now, "totp_enabled", keep=principal.session_id
            )
        await self.sessions.invalidate_user(user.id)
        if self.checks.security is not None:
            await self.checks.security.two_factor_changed(user.id, True)
        return codes

    async def disable(self, principal: Principal, code: str, password: str, address: str) -> None:
        """Turn two-factor off; needs the password and a current (or recovery) code."""
        user = principal.user
        if not user.totp_enabled or not user.totp_secret:
            raise Conflict("two-factor authentication is not enabled", "totp_not_enabled")
        await self.checks.reauthenticate(principal, password, code, address)
        now = self.now()
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user.id, now, **TWO_FACTOR_CLEARED)
            await recovery_store.delete_codes(conn, user.id)
            await session_store.revoke_sessions(
                conn, user.id, now, "totp_disabled", keep=principal.session_id
            )
        await self.sessions.invalidate_user(user.id)
        if self.checks.security is not None:
            await self.checks.security.two_factor_changed(user.id, False)

    async def regenerate_recovery_codes(
        self, principal: Principal, password: str, code: str | None, address: str
    ) -> list[str]:
        """New recovery codes (the old ones stop working); needs the password and a code."""
        user = principal.user
        if not user.totp_enabled:
            raise Conflict("two-factor authentication is not enabled", "totp_not_enabled")
        await self.checks.reauthenticate(principal, password, code, address)
        codes = new_recovery_codes()
        async with self.engine.begin() as conn:
            await recovery_store.replace_codes(
                conn, user.id, [recovery_code_hash(c) for c in codes], self.now()
            )
        return codes
