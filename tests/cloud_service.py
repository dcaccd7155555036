"""A real GreenNet Cloud for the Home Assistant side's tests, driven over its public API.

The cloud runs as `greennet-cloud serve` from its own venv (tests/backend/live.py) on a
free loopback port; these helpers register accounts, make homes and shares, and read what
the cloud stored, exactly as a user or the web dashboard would.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest_socket

from .backend.live import FAST_ARGON2, LiveServer

# Cheap hashing, and throttles loose enough for many accounts from one loopback address.
CLOUD_ENV = {
    **FAST_ARGON2,
    "GREENNET_REGISTER_PER_ADDRESS": "100000",
    "GREENNET_LOGIN_PER_ADDRESS": "100000",
    "GREENNET_ACCESS_LOG": "0",
}
PASSWORD = "linked-hub-test-9"
_serial = itertools.count(1)


@contextlib.contextmanager
def sockets_allowed() -> Iterator[None]:
    """Let a module-scoped fixture find a free port before a test's `socket_enabled`."""
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        pytest_socket.disable_socket(allow_unix_socket=True)


def start_cloud(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> LiveServer:
    """`greennet-cloud serve` on a free loopback port (usable from module-scoped fixtures)."""
    with sockets_allowed():
        server = LiveServer(env={**CLOUD_ENV, **(env or {})}, args=args)
    server.start()
    return server


class CloudRefused(AssertionError):
    """The cloud answered a test's request with an unexpected status."""


@dataclass
class CloudUser:
    """A registered account and its current access token."""

    email: str
    password: str
    token: str


def totp_code(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` at `at` (now by default)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class CloudApi:
    """Just enough of the cloud's REST API to arrange and check link scenarios."""

    def __init__(self, base: str) -> None:
        """Talk to the cloud at `base` (http://127.0.0.1:<port>)."""
        self.base = base

    async def request(
        self,
        user: CloudUser | None,
        method: str,
        path: str,
        json: Any = None,
        expect: int | tuple[int, ...] = (200, 201, 204),
    ) -> Any:
        """One request; its JSON answer (None for 204), or CloudRefused."""
        expected = (expect,) if isinstance(expect, int) else expect
        headers = {"Authorization": f"Bearer {user.token}"} if user else {}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.base + path, json=json, headers=headers) as resp,
        ):
            body = await resp.json(content_type=None) if resp.status != 204 else None
            if resp.status not in expected:
                raise CloudRefused(f"{method} {path} -> {resp.status}: {body}")
            return body

    async def register(self, name: str = "owner") -> CloudUser:
        """A new account, logged in."""
        email = f"{name}-{next(_serial)}-{uuid.uuid4().hex[:8]}@greennet.example"
        account = {"email": email, "password": PASSWORD}
        await self.request(None, "POST", "/api/v1/auth/register", account, expect=201)
        return await self.login(email, PASSWORD)

    async def login(self, email: str, password: str, totp: str | None = None) -> CloudUser:
        """Log in (with a TOTP code when the account has one)."""
        body = {"email": email, "password": password, **({"totp": totp} if totp else {})}
        answer = await self.request(None, "POST", "/api/v1/auth/login", body)
        return CloudUser(email, password, answer["access_token"])

    async def enable_totp(self, user: CloudUser) -> str:
        """Turn on two-factor authentication; returns the secret an authenticator holds."""
        reauth = {"current_password": user.password}  # sensitive changes re-authenticate
        enrollment = await self.request(user, "POST", "/api/v1/auth/totp", reauth, expect=201)
        secret = parse_qs(urlparse(enrollment["otpauth_uri"]).query)["secret"][0]
        confirm = {**reauth, "code": totp_code(secret)}
        await self.request(user, "POST", "/api/v1/auth/totp/confirm", confirm)
        return secret

    async def create_home(self, user: CloudUser, name: str) -> str:
        """A new home of `user`; its id."""
        home = await self.request(user, "POST", "/api/v1/homes", {"name": name}, expect=201)
        return str(home["id"])

    async def homes(self, user: CloudUser) -> list[dict[str, Any]]:
        """Homes `user` owns or has been shared."""
        found: list[dict[str, Any]] = await self.request(user, "GET", "/api/v1/homes")
        return found

    async def link_tokens(self, user: CloudUser, home_id: str) -> list[dict[str, Any]]:
        """Active link tokens of a home (ids and names; the tokens themselves never)."""
        found: list[dict[str, Any]] = await self.request(
            user, "GET", f"/api/v1/homes/{home_id}/link-tokens"
        )
        return found

    async def create_link_token(self, user: CloudUser, home_id: str, name: str) -> dict[str, Any]:
        """A link token made through the API (as the dashboard would)."""
        token: dict[str, Any] = await self.request(
            user, "POST", f"/api/v1/homes/{home_id}/link-tokens", {"name": name}, expect=201
        )
        return token

    async def revoke_link_token(self, user: CloudUser, home_id: str, token_id: str) -> None:
        """The owner revokes a link token."""
        await self.request(
            user, "DELETE", f"/api/v1/homes/{home_id}/link-tokens/{token_id}", expect=204
        )

    async def devices(self, user: CloudUser, home_id: str) -> list[dict[str, Any]]:
        """Devices of a home as `user` sees them."""
        found: list[dict[str, Any]] = await self.request(
            user, "GET", f"/api/v1/homes/{home_id}/devices"
        )
        return found

    async def share_device(
        self, owner: CloudUser, device_id: str, grantee: CloudUser, permission: str
    ) -> None:
        """Share one device with another account (`control` or `read`)."""
        await self.request(
            owner,
            "POST",
            f"/api/v1/devices/{device_id}/shares",
            {"email": grantee.email, "permission": permission},
            expect=201,
        )

    async def telemetry(self, user: CloudUser, device_id: str, since_ms: int) -> list[int]:
        """Timestamps of the raw samples the cloud stored for a device since `since_ms`."""
        answer = await self.request(
            user,
            "GET",
            f"/api/v1/devices/{device_id}/telemetry?resolution=raw&from={since_ms}"
            f"&to={int(time.time() * 1000) + 600_000}",
        )
        return [int(point["ts"]) for point in answer["points"]]

    async def switch(
        self, user: CloudUser, device_id: str, state: str, expect: int = 200
    ) -> dict[str, Any]:
        """Remote relay command; the cloud's answer (the confirmed state, or its error)."""
        answer: dict[str, Any] = await self.request(
            user, "POST", f"/api/v1/devices/{device_id}/relay", {"state": state}, expect=expect
        )
        return answer

    async def protect(
        self, user: CloudUser, device_id: str, limits: dict[str, Any], expect: int = 200
    ) -> dict[str, Any]:
        """Remote protection limits (or reset); the cloud's answer."""
        answer: dict[str, Any] = await self.request(
            user, "POST", f"/api/v1/devices/{device_id}/protection", limits, expect=expect
        )
        return answer

    async def commands(self, user: CloudUser, home_id: str) -> list[dict[str, Any]]:
        """The home's command audit trail, newest first."""
        found: list[dict[str, Any]] = await self.request(
            user, "GET", f"/api/v1/homes/{home_id}/commands"
        )
        return found

    async def device_of(self, user: CloudUser, home_id: str, plug_id: str) -> dict[str, Any]:
        """The cloud's device for a plug id (AssertionError when the home lacks it)."""
        for device in await self.devices(user, home_id):
            if device["plug_id"] == plug_id:
                return device
        raise AssertionError(f"{plug_id} is not a device of home {home_id}")
