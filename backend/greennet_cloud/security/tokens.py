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
    """Issue and verify short-lived HS256 access tokens."""

    def __init__(self, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        # derive a dedicated key so the signing secret is never used for two purposes
        self._key = access_token_key(secret)
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
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """The token's claims, or the one generic `Unauthenticated` for anything not right.

        The reason (PyJWT's message, expiry, a wrong type) is never told to the client: it
        only helps someone probing forged tokens. A client refreshes on any 401.
        """
        try:
            claims = jwt.decode(
                token,
                self._key,
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


def ingest_secret(server_secret: str, device_id: str, nonce: str) -> str:
    """The HMAC key a device signs its ingest requests with.

    HMAC verification needs the key itself, so instead of storing it the server derives
    it from its own secret and a per-credential nonce: the database alone reveals nothing.
    """
    key = _derive(server_secret, "greennet device ingest v1")
    digest = hmac.new(key, f"{device_id}\n{nonce}".encode(), hashlib.sha256).digest()
    return "gnd_" + digest.hex()


def expires_at(now: datetime, seconds: int) -> datetime:
    """`now` plus `seconds`."""
    return now + timedelta(seconds=seconds)


def access_token_key(secret: str) -> bytes:
    """The HS256 key access tokens are signed with."""
    return _derive(secret, "greennet access token v1")


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
