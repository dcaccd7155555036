"""The demo account on GreenNet Cloud."""

from __future__ import annotations

from typing import Any

import aiohttp


class CloudError(RuntimeError):
    """GreenNet Cloud refused a demo step."""


async def demo_login(base: str, email: str, password: str) -> str:
    """Register the demo account if it is new, log in, and return an access token."""
    async with aiohttp.ClientSession() as session:
        account = {"email": email, "password": password}
        async with session.post(f"{base}/api/v1/auth/register", json=account) as resp:
            if resp.status not in (200, 201, 409):
                raise CloudError(f"register -> {resp.status}: {await resp.text()}")
        async with session.post(f"{base}/api/v1/auth/login", json=account) as resp:
            body: dict[str, Any] = await resp.json(content_type=None)
            if resp.status != 200:
                raise CloudError(f"login -> {resp.status}: {body}")
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
