"""Helpers for the alert tests: a plug with people around it, thresholds, readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greennet_cloud.db.schema import devices
from greennet_cloud.services.alert_evaluation import Reading
from greennet_cloud.web.keys import ALERT_EVALUATION, ENGINE
from sqlalchemy import update

from .api import Account, Api
from .conftest import FakeClock
from .notifying import app_of, home_with_plugs, share_plug

PLUG = "greennet-a1e701"


@dataclass
class Household:
    """A plug, its owner, a `control` share, a `read` share and a stranger."""

    owner: Account
    controller: Account
    reader: Account
    stranger: Account
    home_id: str
    device_id: str


async def household(api: Api) -> Household:
    owner = await api.account("owner@example.com")
    controller = await api.account("controller@example.com")
    reader = await api.account("reader@example.com")
    stranger = await api.account("stranger@example.com")
    home_id = await home_with_plugs(api, owner, PLUG)
    await share_plug(api, owner, PLUG, controller.email, "control")
    await share_plug(api, owner, PLUG, reader.email, "read")
    return Household(owner, controller, reader, stranger, home_id, PLUG)


async def add_threshold(api: Api, who: Account, device_id: str, **fields: Any) -> dict[str, Any]:
    await fresh(api, who)
    reply = await api.call(
        "POST", f"/api/v1/devices/{device_id}/thresholds", token=who.access, json_body=fields
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def report(
    api: Api,
    clock: FakeClock,
    device_id: str = PLUG,
    *,
    power: float = 100.0,
    current: float = 0.5,
    voltage: float = 230.0,
    energy_today: float | None = None,
) -> None:
    """One reading of the plug, taken now (by the test's clock)."""
    await app_of(api)[ALERT_EVALUATION].evaluate(
        [Reading(device_id, clock(), power, current, voltage, energy_today)]
    )


async def run_checks(api: Api) -> None:
    """The periodic alert job, once."""
    await app_of(api)[ALERT_EVALUATION].run_checks()


async def fresh(api: Api, who: Account) -> Account:
    """`who` with a new access token (tests move time past the 15 minutes one lasts)."""
    reply = await api.call("POST", "/api/v1/auth/refresh", json_body={"refresh_token": who.refresh})
    assert reply.status == 200, reply.body
    who.access, who.refresh = reply.body["access_token"], reply.body["refresh_token"]
    return who


async def alerts_of(api: Api, who: Account, query: str = "") -> list[dict[str, Any]]:
    await fresh(api, who)
    reply = await api.call("GET", f"/api/v1/alerts{query}", token=who.access)
    assert reply.status == 200, reply.body
    return list(reply.body)


async def alert_notifications(api: Api, who: Account) -> list[dict[str, Any]]:
    await fresh(api, who)
    reply = await api.call("GET", "/api/v1/notifications", token=who.access)
    assert reply.status == 200
    return [n for n in reply.body if n["type"].startswith("alert_")][::-1]  # oldest first


async def last_seen(api: Api, device_id: str, at: datetime) -> None:
    """Record that the device reported at `at` (what ingest does)."""
    async with app_of(api)[ENGINE].begin() as conn:
        await conn.execute(update(devices).where(devices.c.id == device_id).values(last_seen_at=at))
