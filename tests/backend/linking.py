"""Helpers for HA link tests: a home with a link token, a test hub connected to it, shares."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from greennet_cloud.config import LinkSettings

from .api import Account, Api
from .hub import SimPlug, TestHub

# short enough that timeouts and keep-alive are tested in a fraction of a second
FAST_LINK = LinkSettings(
    ping_interval_seconds=30.0,
    idle_timeout_seconds=60.0,
    command_timeout_seconds=1.0,
    heartbeat_seconds=3600.0,  # tests call node.beat() themselves
)


@dataclass
class LinkedHome:
    """An owner's home and a link token for its hub."""

    owner: Account
    home_id: str
    token: str
    token_id: str

    def hub(self, api: Api, *plug_ids: str, token: str | None = None) -> TestHub:
        """A test hub for this home (not yet connected) seeing `plug_ids` on its broker."""
        return hub_for(api, token or self.token, [SimPlug(plug_id) for plug_id in plug_ids])

    async def device_ids(self, api: Api) -> dict[str, str]:
        """{plug id: device id} of the home's devices, as the owner lists them."""
        listed = await api.call(
            "GET", f"/api/v1/homes/{self.home_id}/devices", token=self.owner.access
        )
        assert listed.status == 200, listed.body
        return {device["plug_id"]: device["id"] for device in listed.body}

    async def share(self, api: Api, email: str, permission: str) -> Account:
        """Share the home with a new account `email`; that account, logged in."""
        friend = await api.account(email)
        shared = await api.call(
            "POST",
            f"/api/v1/homes/{self.home_id}/shares",
            token=self.owner.access,
            json_body={"email": email, "permission": permission},
        )
        assert shared.status == 201, shared.body
        return friend

    async def new_token(self, api: Api, name: str = "HA") -> tuple[str, str]:
        """Another link token of this home: (token, token id)."""
        made = await api.call(
            "POST",
            f"/api/v1/homes/{self.home_id}/link-tokens",
            token=self.owner.access,
            json_body={"name": name},
        )
        assert made.status == 201, made.body
        return made.body["token"], made.body["id"]

    async def revoke(self, api: Api, token_id: str | None = None) -> None:
        """Revoke a link token of this home (default: its first)."""
        revoked = await api.call(
            "DELETE",
            f"/api/v1/homes/{self.home_id}/link-tokens/{token_id or self.token_id}",
            token=self.owner.access,
        )
        assert revoked.status == 204, revoked.body


def hub_for(api: Api, token: str, plugs: list[SimPlug]) -> TestHub:
    """A test hub talking to the app `api` serves."""
    return TestHub(api.client.session, str(api.client.make_url("/api/v1/link")), token, plugs)


async def linked_home(api: Api, email: str, owner: Account | None = None) -> LinkedHome:
    """Register `email` (unless `owner` is given), make a home and a link token for it."""
    owner = owner or await api.account(email)
    made = await api.call("POST", "/api/v1/homes", token=owner.access, json_body={"name": "Home"})
    assert made.status == 201, made.body
    home_id = made.body["id"]
    link = await api.call(
        "POST", f"/api/v1/homes/{home_id}/link-tokens", token=owner.access, json_body={}
    )
    assert link.status == 201, link.body
    return LinkedHome(owner, home_id, link.body["token"], link.body["id"])


async def linked_hub(api: Api, email: str, plug_id: str) -> tuple[LinkedHome, TestHub, str]:
    """A new owner's home with its hub connected and `plug_id` announced: the home, the
    hub, and the plug's device id."""
    home = await linked_home(api, email)
    hub = home.hub(api, plug_id)
    await hub.connect()
    device_id: str = (await hub.announce())["devices"][plug_id]
    return home, hub, device_id


async def relay(api: Api, account: Account, device_id: str, state: str) -> Any:
    """POST /devices/{id}/relay as `account`."""
    return await api.call(
        "POST",
        f"/api/v1/devices/{device_id}/relay",
        token=account.access,
        json_body={"state": state},
    )


def with_link(config: Any, **changes: Any) -> Any:
    """`config` with FAST_LINK (and `changes` to it)."""
    return dataclasses.replace(config, link=dataclasses.replace(FAST_LINK, **changes))


async def eventually[T](probe: Callable[[], Awaitable[T]], wanted: T, timeout: float = 5) -> bool:
    """Whether `probe()` answers `wanted` within `timeout` seconds (asked every 20 ms): for
    what the server finishes after the client has its answer (a handler's cleanup)."""
    deadline = time.monotonic() + timeout
    while True:
        if await probe() == wanted:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
