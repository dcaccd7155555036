"""Helpers for the notification tests: a home with plugs, sharing, outbox state, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from greennet_cloud.storage import outbox as outbox_store
from greennet_cloud.storage.outbox import OutboxEntry
from greennet_cloud.web.keys import ENGINE, OUTBOX

from .api import Account, Api


async def states(api: Api, user_id: str) -> list[str]:
    """The delivery state of each outbox message of a user."""
    return [entry.state for entry in await outbox_of(api, user_id)]


async def failed_once(api: Api, user_id: str, count: int) -> bool:
    """Whether `count` messages of the user failed their first attempt and wait to retry."""
    found = await outbox_of(api, user_id)
    waiting = [
        entry
        for entry in found
        if entry.state == "pending" and entry.message.attempts == 1 and entry.last_error
    ]
    return len(found) == count and len(waiting) == count


def app_of(api: Api) -> web.Application:
    """The app behind a test client."""
    assert api.client.app is not None
    return api.client.app


async def home_with_plugs(api: Api, owner: Account, *plug_ids: str) -> str:
    """A home of `owner` holding these plugs (paired, named "Plug <last two digits>");
    returns the home id."""
    home = await api.call("POST", "/api/v1/homes", token=owner.access, json_body={"name": "Flat"})
    assert home.status == 201, home.body
    for plug_id in plug_ids:
        await api.plug(owner.access, home.body["id"], plug_id, name=f"Plug {plug_id[-2:]}")
    return str(home.body["id"])


async def device_id_of(api: Api, owner: Account, plug_id: str) -> str:
    """The cloud id of one of the owner's plugs."""
    listed = await api.call("GET", "/api/v1/devices", token=owner.access)
    assert listed.status == 200, listed.body
    [found] = [device["id"] for device in listed.body if device["plug_id"] == plug_id]
    return str(found)


async def share_plug(
    api: Api, owner: Account, plug_id: str, email: str, permission: str = "read"
) -> None:
    """Share one of the owner's plugs (the grantee is notified)."""
    device_id = await device_id_of(api, owner, plug_id)
    shared = await api.call(
        "POST",
        f"/api/v1/devices/{device_id}/shares",
        token=owner.access,
        json_body={"email": email, "permission": permission},
    )
    assert shared.status == 201, shared.body


ACCOUNT_MAIL = {"verify_email", "reset_password"}


async def outbox_of(api: Api, user_id: str, *, account_mail: bool = False) -> list[OutboxEntry]:
    """Every outbox message of a user with its state (notifications only, by default)."""
    async with app_of(api)[ENGINE].connect() as conn:
        found = await outbox_store.messages_of(conn, user_id)
    return [e for e in found if account_mail or e.message.kind not in ACCOUNT_MAIL]


async def drain(api: Api) -> int:
    """Let this app's outbox worker process everything due now."""
    return await app_of(api)[OUTBOX].drain()


async def eventually(check: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
    """Wait (real time) until `check()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


async def eventually_async(
    check: Callable[[], Awaitable[bool]], timeout: float = 15, what: str = ""
) -> None:
    """`eventually` for a coroutine function returning a truthy value when done."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)
