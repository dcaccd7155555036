"""Signed device ingest: who sent this request, proven over its raw bytes.

`X-Device-Id` is the device's cloud id, `X-Timestamp` Unix milliseconds, and `X-Signature`
hex HMAC-SHA256(ingest secret, raw body + timestamp). Checked in this order, each failure
with its own code: headers present and well-formed (400), timestamp within ±300 s (401),
signature of an active credential, compared in constant time (401; a revoked credential
is named as such), the signature not seen before (401). Only then is the body parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.engine import reading
from ..errors import InvalidInput, Unauthenticated
from ..models import Device
from ..storage import devices as device_store
from ..storage import ingest_guard
from .devices import Devices

WINDOW_MS = 300_000
_DIGITS = re.compile(r"^[0-9]{1,16}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def sign(secret: str, raw_body: bytes, timestamp: str) -> str:
    """The `X-Signature` of a request: hex HMAC-SHA256(secret, body + timestamp)."""
    return hmac.new(secret.encode(), raw_body + timestamp.encode(), hashlib.sha256).hexdigest()


def _check_headers(
    device_id: str | None, timestamp: str | None, signature: str | None
) -> tuple[str, int, str]:
    for name, value in (
        ("X-Device-Id", device_id),
        ("X-Timestamp", timestamp),
        ("X-Signature", signature),
    ):
        if not value:
            raise InvalidInput(f"the {name} header is required", "missing_header")
    assert device_id is not None
    assert timestamp is not None
    assert signature is not None
    if not _DIGITS.fullmatch(timestamp):
        raise InvalidInput("X-Timestamp must be Unix milliseconds", "invalid_timestamp")
    if not _HEX64.fullmatch(signature):
        raise InvalidInput("X-Signature must be 64 hex digits", "invalid_signature_format")
    return device_id, int(timestamp), signature.lower()


async def verify_device_request(
    engine: AsyncEngine,
    devices: Devices,
    now: datetime,
    device_id: str | None,
    timestamp: str | None,
    signature: str | None,
    raw_body: bytes,
) -> Device:
    """The device that signed this request, or the error that says why not."""
    device_id, sent_ms, signature = _check_headers(device_id, timestamp, signature)
    now_ms = int(now.timestamp() * 1000)
    if sent_ms < now_ms - WINDOW_MS:
        raise Unauthenticated("X-Timestamp is more than 300 s old", "timestamp_expired")
    if sent_ms > now_ms + WINDOW_MS:
        raise Unauthenticated("X-Timestamp is more than 300 s ahead", "timestamp_in_future")
    assert timestamp is not None
    refused = Unauthenticated("the signature does not match", "invalid_signature")
    if not _UUID.fullmatch(device_id):
        raise refused
    async with reading(engine).begin() as conn:
        device = await device_store.find_device(conn, device_id)
        credentials = await device_store.list_credentials(conn, device_id) if device else []
    if device is None:
        raise refused
    matched_revoked = False
    for credential in credentials:
        secret = devices.ingest_secret(device, credential)
        if secret is None:  # its keyring key was retired: the credential is dead
            continue
        expected = sign(secret, raw_body, timestamp)
        if hmac.compare_digest(expected, signature):
            if credential.revoked_at is None:
                break
            matched_revoked = True
    else:
        if matched_revoked:
            raise Unauthenticated("this device credential was revoked", "credential_revoked")
        raise refused
    # remembered until it could no longer pass the window check anyway
    expires = now + timedelta(milliseconds=2 * WINDOW_MS)
    async with engine.begin() as conn:
        if not await ingest_guard.remember_signature(conn, signature, expires):
            raise Unauthenticated("this request was already received", "replayed_request")
    return device
