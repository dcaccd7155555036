"""Optional TOTP two-factor: enroll (secret + otpauth URI), confirm, disable."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..errors import Conflict, Forbidden
from ..security.session_cache import SessionCache
from ..storage import users as user_store
from .base import Principal, Service

ISSUER_NAME = "GreenNet"
STEP_SECONDS = 30


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A pending TOTP secret for the authenticator app."""

    secret: str
    otpauth_uri: str


def verify_totp(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (±1 step), or None; a step is accepted only once."""
    code = code.strip()
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue  # replayed or older than a code already used
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


class TwoFactor(Service):
    """TOTP enrollment for the calling account."""

    def __init__(self, engine: AsyncEngine, clock: Clock, sessions: SessionCache) -> None:
        super().__init__(engine, clock)
        self.sessions = sessions

    async def enroll(self, principal: Principal) -> TotpEnrollment:
        """Generate a new pending secret (replacing an unconfirmed one)."""
        if principal.user.totp_enabled:
            raise Conflict("two-factor authentication is already enabled", "totp_enabled")
        secret = pyotp.random_base32()
        async with self.engine.begin() as conn:
            await user_store.update_user(
                conn, principal.user_id, self.now(), totp_secret=secret, totp_last_step=None
            )
        await self.sessions.invalidate_user(principal.user_id)
        uri = pyotp.TOTP(secret).provisioning_uri(
            name=principal.user.email, issuer_name=ISSUER_NAME
        )
        return TotpEnrollment(secret=secret, otpauth_uri=uri)

    async def confirm(self, principal: Principal, code: str) -> None:
        """Turn two-factor on once the app shows a valid code for the pending secret."""
        user = principal.user
        if user.totp_enabled:
            raise Conflict("two-factor authentication is already enabled", "totp_enabled")
        if not user.totp_secret:
            raise Conflict("enroll first", "totp_not_enrolled")
        now = self.now()
        step = verify_totp(user.totp_secret, code, now, None)
        if step is None:
            raise Forbidden("wrong two-factor code", "invalid_totp")
        async with self.engine.begin() as conn:
            await user_store.update_user(conn, user.id, now, totp_enabled=True, totp_last_step=step)
        await self.sessions.invalidate_user(user.id)

    async def disable(self, principal: Principal, code: str) -> None:
        """Turn two-factor off; needs a current code."""
        user = principal.user
        if not user.totp_enabled or not user.totp_secret:
            raise Conflict("two-factor authentication is not enabled", "totp_not_enabled")
        now = self.now()
        if verify_totp(user.totp_secret, code, now, user.totp_last_step) is None:
            raise Forbidden("wrong two-factor code", "invalid_totp")
        async with self.engine.begin() as conn:
            await user_store.update_user(
                conn, user.id, now, totp_enabled=False, totp_secret=None, totp_last_step=None
            )
        await self.sessions.invalidate_user(user.id)
