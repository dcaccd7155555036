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


def bearer_session(token: str) -> aiohttp.ClientSession:
    """A client session that authenticates every request with `token`."""
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    ok: tuple[int, ...] = (200,),
    **kw: Any,
) -> Any:
    """One API request; its JSON body, or CloudError unless the status is one of `ok`."""
    async with session.request(method, url, **kw) as resp:
        body = await resp.json(content_type=None)
        if resp.status not in ok:
            raise CloudError(f"{method} {url} -> {resp.status}: {body}")
        return body


async def authenticated_get(base: str, token: str, path: str) -> Any:
    """GET with the bearer token; raise unless 200."""
    async with bearer_session(token) as session:
        return await call(session, "GET", base + path)


DEMO_HOME = "Demo home"


async def ensure_demo_home(
    base: str, token: str, plugs: list[tuple[str, str, str]]
) -> tuple[str, int]:
    """The demo home with each (plug id, name, model) registered; returns (home id, added)."""
    async with bearer_session(token) as session:
        homes = await call(session, "GET", f"{base}/api/v1/homes")
        home = next((h for h in homes if h["name"] == DEMO_HOME and h["access"] == "owner"), None)
        if home is None:
            home = await call(
                session, "POST", f"{base}/api/v1/homes", (201,), json={"name": DEMO_HOME}
            )
        devices_url = f"{base}/api/v1/homes/{home['id']}/devices"
        codes_url = f"{base}/api/v1/homes/{home['id']}/pairing-codes"
        known = {device["plug_id"] for device in await call(session, "GET", devices_url)}
        added = 0
        for plug_id, name, model in plugs:
            if plug_id not in known:
                # a plug joins a home with proof: a pairing code the owner made for it
                code = (await call(session, "POST", codes_url, (201,)))["code"]
                device = {
                    "code": code,
                    "device_id": plug_id,
                    "name": name,
                    "model": model,
                    "location": "Demo",
                }
                await call(session, "POST", f"{base}/api/v1/devices/pair", (201,), json=device)
                added += 1
        return str(home["id"]), added


async def dashboard_served(base: str) -> None:
    """The web dashboard page answers (its browser tests live in tests/backend)."""
    async with aiohttp.ClientSession() as session, session.get(base + "/app/") as resp:
        page = await resp.text()
        if resp.status != 200 or "<title>GreenNet Cloud</title>" not in page:
            raise CloudError(f"GET /app/ -> {resp.status}")
