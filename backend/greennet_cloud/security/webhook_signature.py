"""Webhook signatures in the Standard Webhooks scheme (https://www.standardwebhooks.com):

    webhook-id:        the message id (the same on every retry: receivers deduplicate on it)
    webhook-timestamp: Unix seconds of this attempt
    webhook-signature: "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))

The secret a user sees is `whsec_` + base64(key). Receivers check the signature with a
constant-time compare and refuse timestamps far from their clock (replays). The server
keeps no secret: the key is derived from a keyring key and a per-webhook nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
TOLERANCE_SECONDS = 300


def signing_key(key: bytes, user_id: str, nonce: str) -> bytes:
    """The 32-byte HMAC key of one user's webhook, from a keyring key (`device_ingest`
    purpose, separated from ingest secrets by its own label) and the webhook's nonce."""
    purpose = hmac.new(key, b"greennet webhook v1", hashlib.sha256).digest()
    return hmac.new(purpose, f"{user_id}\n{nonce}".encode(), hashlib.sha256).digest()


def secret_text(key: bytes) -> str:
    """The secret as shown to the user once (`whsec_…`)."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def key_of(secret: str) -> bytes:
    """The HMAC key inside a `whsec_…` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: True when one `v1` signature matches and the time is close."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    try:
        timestamp = int(lowered.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if not message_id or abs(now - timestamp) > tolerance:
        return False
    expected = signature(key_of(secret), message_id, timestamp, body)
    offered = lowered.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
