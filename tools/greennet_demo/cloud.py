"""The demo account on GreenNet Cloud."""

from __future__ import annotations

from typing import Any

import aiohttp


class CloudError(RuntimeError):
    """GreenNet Cloud refused a demo step."""


async def demo_login(base: str, email: str, password: str) -> str:
    """Log in to the demo account (registering it on first run); return an access token."""
    account = {"email": email, "password": password}
    async with aiohttp.ClientSession() as session:

        async def login() -> tuple[int, dict[str, Any]]:
            async with session.post(f"{base}/api/v1/auth/login", json=account) as resp:
                return resp.status, await resp.json(content_type=None)

        # Log in first: registration is throttled per address, and re-runs are the norm.
        status, body = await login()
        if status == 401:
            async with session.post(f"{base}/api/v1/auth/register", json=account) as resp:
                if resp.status != 201:
                    raise CloudError(f"register -> {resp.status}: {await resp.text()}")
            status, body = await login()
        if status != 200:
            raise CloudError(f"login -> {status}: {body}")
        return str(body["access_token"])


async def authenticated_get(base: str, token: str, path: str) -> Any:
    """GET with the bearer token; raise unless 200."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(base + path, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        body = await resp.json(content_type=None)
        if resp.status != 200:
            raise CloudError(f"GET {path} -> {resp.status}: {body}")
        return body


DEMO_HOME = "Demo home"


async def ensure_demo_home(
    base: str, token: str, plugs: list[tuple[str, str, str]]
) -> tuple[str, int]:
    """The demo home with each (plug id, name, model) registered; returns (home id, added)."""
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=auth) as session:

        async def call(method: str, path: str, ok: tuple[int, ...], **kw: Any) -> Any:
            async with session.request(method, base + path, **kw) as resp:
                body = await resp.json(content_type=None)
                if resp.status not in ok:
                    raise CloudError(f"{method} {path} -> {resp.status}: {body}")
                return body

        homes = await call("GET", "/api/v1/homes", (200,))
        home = next((h for h in homes if h["name"] == DEMO_HOME and h["access"] == "owner"), None)
        if home is None:
            home = await call("POST", "/api/v1/homes", (201,), json={"name": DEMO_HOME})
        devices = await call("GET", f"/api/v1/homes/{home['id']}/devices", (200,))
        known = {device["id"] for device in devices}
        added = 0
        for plug_id, name, model in plugs:
            if plug_id not in known:
                device = {"id": plug_id, "name": name, "model": model, "location": "Demo"}
                await call("POST", f"/api/v1/homes/{home['id']}/devices", (201,), json=device)
                added += 1
        return str(home["id"]), added


async def dashboard_served(base: str) -> None:
    """The web dashboard page answers (its browser tests live in tests/backend)."""
    async with aiohttp.ClientSession() as session, session.get(base + "/app/") as resp:
        page = await resp.text()
        if resp.status != 200 or "<title>GreenNet Cloud</title>" not in page:
            raise CloudError(f"GET /app/ -> {resp.status}")
