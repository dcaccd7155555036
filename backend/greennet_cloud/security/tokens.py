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
from .keyring import LEGACY_KEY_ID, KeySet

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "typ", "sid")
LEEWAY_SECONDS = 5


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: who, and in which session."""

    user_id: str
    session_id: str


class AccessTokens:
    """Issue and verify short-lived HS256 access tokens, signed with the keyring's current
    `access_token` key (its id in the `kid` header), verified with any key of the ring."""

    def __init__(self, keys: KeySet, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

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
        moment = now.timestamp()
        try:
            exp, nbf, iat = (float(claims[name]) for name in ("exp", "nbf", "iat"))
        except (TypeError, ValueError):
            raise invalid_access_token() from None
        if moment >= exp + LEEWAY_SECONDS:
            raise invalid_access_token()
        if moment + LEEWAY_SECONDS < nbf or moment + LEEWAY_SECONDS < iat:
            raise invalid_access_token()
        if claims["typ"] != ACCESS_TYPE:
            raise invalid_access_token()
        sub, sid = claims["sub"], claims["sid"]
        if not isinstance(sub, str) or not isinstance(sid, str):
            raise invalid_access_token()
        return AccessClaims(user_id=sub, session_id=sid)


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
