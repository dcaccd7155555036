"""JWT access tokens (one algorithm, every registered claim required) and opaque secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from ..errors import Unauthenticated
from .keyring import LEGACY_KEY_ID, Key, KeySet

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "typ", "sid")
LEEWAY_SECONDS = 5
VERIFIED_MEMO_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: who, and in which session."""

    user_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature and claims checked out: what it says, the key that verified
    it, and its times (checked again on every use)."""

    claims: AccessClaims
    key: Key
    exp: float
    nbf: float
    iat: float


class AccessTokens:
    """Issue and verify short-lived HS256 access tokens, signed with the keyring's current
    `access_token` key (its id in the `kid` header), verified with any key of the ring.

    A client sends the same access token with every request until it refreshes, and PyJWT's
    parse and HMAC check of it cost about a tenth of an authenticated read's CPU
    (bench/RESULTS.md). So a token that verified is remembered, keyed by its exact text,
    up to `VERIFIED_MEMO_SIZE` tokens (the oldest go first). A remembered token is still
    refused once it expires (its times are checked on every use against the clock) and once
    the key that verified it is no longer in the ring. Whether its session is still live is
    not this class's concern: `Accounts.authenticate` checks that on every request (session
    cache, invalidated on revocation). Only tokens that verified are remembered, so forged
    ones cannot fill the memo.
    """

    def __init__(self, keys: KeySet, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, _Verified] = {}

    def issue(self, user_id: str, session_id: str, now: datetime) -> str:
        """A signed access token valid for `ttl_seconds` from `now`."""
        issued = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "sid": session_id,
            "typ": ACCESS_TYPE,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        key = self._keys.current
        return jwt.encode(claims, key.material, algorithm=ALGORITHM, headers={"kid": key.id})

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """The token's claims, or the one generic `Unauthenticated` for anything not right.

        The reason (PyJWT's message, expiry, a wrong type) is never told to the client: it
        only helps someone probing forged tokens. A client refreshes on any 401.
        """
        if (known := self._verified.get(token)) is not None:
            if self._keys.get(known.key.id) is known.key:
                _check_times(known.exp, known.nbf, known.iat, now)
                return known.claims
            del self._verified[token]  # not the ring's key (any more): verify afresh
        try:
            # tokens from before the keyring carry no kid: they were signed by the root key
            key_id = jwt.get_unverified_header(token).get("kid", LEGACY_KEY_ID)
            key = self._keys.get(key_id) if isinstance(key_id, str) else None
            if key is None:
                raise invalid_access_token()
            claims = jwt.decode(
                token,
                key.material,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # times are checked below against the injected clock
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise invalid_access_token() from None
        try:
            exp, nbf, iat = (float(claims[name]) for name in ("exp", "nbf", "iat"))
        except (TypeError, ValueError):
            raise invalid_access_token() from None
        _check_times(exp, nbf, iat, now)
        if claims["typ"] != ACCESS_TYPE:
            raise invalid_access_token()
        sub, sid = claims["sub"], claims["sid"]
        if not isinstance(sub, str) or not isinstance(sid, str):
            raise invalid_access_token()
        verified = AccessClaims(user_id=sub, session_id=sid)
        if len(self._verified) >= VERIFIED_MEMO_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = _Verified(verified, key, exp, nbf, iat)
        return verified


def _check_times(exp: float, nbf: float, iat: float, now: datetime) -> None:
    """Refuse a token past its expiry, or not valid yet (with a few seconds' leeway)."""
    moment = now.timestamp()
    if moment >= exp + LEEWAY_SECONDS:
        raise invalid_access_token()
    if moment + LEEWAY_SECONDS < nbf or moment + LEEWAY_SECONDS < iat:
        raise invalid_access_token()


def invalid_access_token() -> Unauthenticated:
    """The one answer to every unusable access token (bad, expired, revoked, unknown user)."""
    return Unauthenticated("the access token is invalid, expired or revoked", "invalid_token")


def new_secret(prefix: str) -> str:
    """A random opaque token with a type prefix (so leaked tokens are recognisable)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(token: str) -> str:
    """SHA-256 hex of an opaque token: high-entropy secrets need no slow hash."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def ingest_secret(key: bytes, device_id: str, nonce: str) -> str:
    """The HMAC key a device signs its ingest requests with.

    HMAC verification needs the key itself, so instead of storing it the server derives
    it from a `device_ingest` key of its keyring and a per-credential nonce: the database
    alone reveals nothing.
    """
    digest = hmac.new(key, f"{device_id}\n{nonce}".encode(), hashlib.sha256).digest()
    return "gnd_" + digest.hex()


def expires_at(now: datetime, seconds: int) -> datetime:
    """`now` plus `seconds`."""
    return now + timedelta(seconds=seconds)
