"""Re-sealing TOTP secrets with the keyring's current `totp_secret` key.

After `rotate-key totp_secret`, new enrolments are sealed with the new key while existing
secrets stay sealed with theirs; `reseal-totp` moves them over so the old key can be retired.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..security.keyring import Keyring, KeyringError
from ..storage import totp_keys as totp_key_store

BATCH = 200


@dataclass(frozen=True, slots=True)
class ResealOutcome:
    """What a re-seal run did."""

    resealed: int
    # sealed with a key no longer in the ring: nothing can open them (the account must reset
    # two-factor, e.g. an administrator's reset)
    unopenable: int


async def reseal_totp_secrets(engine: AsyncEngine, keyring: Keyring, clock: Clock) -> ResealOutcome:
    """Seal every TOTP secret (pending or enabled) with the current key, a batch per
    transaction; a secret changed meanwhile (new enrolment, reset) is left as it is now."""
    current = keyring.totp_secret.current.id
    resealed = unopenable = 0
    after = ""
    while True:
        async with engine.begin() as conn:
            found = await totp_key_store.sealed_secrets_not_with(conn, current, after, BATCH)
            for user_id, sealed in found:
                try:
                    secret = keyring.open_totp_secret(sealed)
                except KeyringError:
                    unopenable += 1
                    continue
                fresh = keyring.seal_totp_secret(secret)
                if await totp_key_store.replace_sealed_secret(
                    conn, user_id, sealed, fresh, clock()
                ):
                    resealed += 1
        if len(found) < BATCH:
            return ResealOutcome(resealed, unopenable)
        after = found[-1][0]


async def accounts_sealed_with(engine: AsyncEngine, key_id: str) -> int:
    """How many accounts' TOTP secrets need `key_id` to open."""
    async with engine.connect() as conn:
        return await totp_key_store.count_sealed_with(conn, key_id)
