"""A thin test client: JSON in, (status, JSON) out, accounts with their tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A registered, logged-in user."""

    id: str
    email: str
    password: str
    access: str
    refresh: str


@dataclass
class Reply:
    """Status, headers and decoded body of one response."""

    status: int
    headers: CIMultiDict[str]  # names are case-insensitive (aiohttp 3.14 sends X-Request-ID)
    body: Any

    @property
    def error(self) -> str | None:
        """The `error` code of an error body."""
        return self.body.get("error") if isinstance(self.body, dict) else None


class Api:
    """Calls the app under test."""

    def __init__(self, client: TestClient) -> None:  # type: ignore[type-arg]
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request; the body is decoded when it is JSON."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body)
            sent.setdefault("Content-Type", "application/json")
        async with self.client.request(method, path, data=data, headers=sent) as response:
            raw = await response.read()
            body: Any = None
            if raw:
                body = json.loads(raw) if "json" in response.content_type else raw.decode()
            return Reply(response.status, CIMultiDict(response.headers), body)

    async def register(self, email: str, password: str = PASSWORD) -> Reply:
        """POST /auth/register."""
        return await self.call(
            "POST", "/api/v1/auth/register", json_body={"email": email, "password": password}
        )

    async def login(self, email: str, password: str = PASSWORD, **extra: Any) -> Reply:
        """POST /auth/login."""
        return await self.call(
            "POST",
            "/api/v1/auth/login",
            json_body={"email": email, "password": password, **extra},
        )

    async def account(self, email: str, password: str = PASSWORD) -> Account:
        """Register and log in; fails the test if either does not work."""
        registered = await self.register(email, password)
        assert registered.status == 201, registered.body
        return await self.session(email, registered.body["id"], password)

    async def add_plug(self, token: str, home_id: str, plug_id: str, **details: Any) -> Reply:
        """Pair a plug into a home as a plug does: the owner's pairing code, then
        `POST /devices/pair`; the answer holds the device and its ingest secret."""
        code = await self.call("POST", f"/api/v1/homes/{home_id}/pairing-codes", token=token)
        assert code.status == 201, code.body
        return await self.call(
            "POST",
            "/api/v1/devices/pair",
            json_body={"code": code.body["code"], "device_id": plug_id, **details},
        )

    async def plug(self, token: str, home_id: str, plug_id: str, **details: Any) -> dict[str, Any]:
        """`add_plug` that must succeed: {"device": …, "credential": …}."""
        reply = await self.add_plug(token, home_id, plug_id, **details)
        assert reply.status == 201, reply.body
        return dict(reply.body)

    async def session(self, email: str, user_id: str, password: str = PASSWORD) -> Account:
        """Log in once more (a new session) as an existing account."""
        logged_in = await self.login(email, password)
        assert logged_in.status == 200, logged_in.body
        return Account(
            id=user_id,
            email=email,
            password=password,
            access=logged_in.body["access_token"],
            refresh=logged_in.body["refresh_token"],
        )
