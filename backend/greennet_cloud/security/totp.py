"""TOTP codes (RFC 6238 through pyotp): which time step a code belongs to."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

STEP_SECONDS = 30


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
