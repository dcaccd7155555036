"""Helpers for the alert tests: a plug with people around it, thresholds, and readings sent
through the real signed ingest route at the test clock's time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from greennet_cloud.web.alerting import ALERT_JOB
from greennet_cloud.web.keys import JOBS

from .api import Account, Api
from .conftest import FakeClock
from .notifying import app_of
from .telemetry import ms, signed_headers

PLUG = "greennet-a1e701"


@dataclass
class Household:
    """A paired plug, its owner, a `control` share, a `read` share and a stranger."""

    owner: Account
    controller: Account
    reader: Account
    stranger: Account
    home_id: str
    device_id: str
    secret: str

    @property
    def thresholds(self) -> str:
        """The plug's thresholds path."""
        return f"/api/v1/devices/{self.device_id}/thresholds"


async def household(api: Api, **home: Any) -> Household:
    owner = await api.account("owner@example.com")
    controller = await api.account("controller@example.com")
    reader = await api.account("reader@example.com")
    stranger = await api.account("stranger@example.com")
    made = await api.call(
        "POST", "/api/v1/homes", token=owner.access, json_body={"name": "Flat", **home}
    )
    assert made.status == 201, made.body
    paired = await api.plug(owner.access, made.body["id"], PLUG, name="Plug 01")
    device_id = paired["device"]["id"]
    for who, permission in ((controller, "control"), (reader, "read")):
        shared = await api.call(
            "POST", f"/api/v1/devices/{device_id}/shares", token=owner.access,
            json_body={"email": who.email, "permission": permission},
        )  # fmt: skip
        assert shared.status == 201, shared.body
    return Household(
        owner, controller, reader, stranger, made.body["id"], device_id,
        paired["credential"]["secret"],
    )  # fmt: skip


@dataclass
class Plug:
    """A paired plug: its cloud id and ingest secret."""

    device_id: str
    secret: str


async def paired_plug(api: Api, owner: Account, home_id: str, plug_id: str) -> Plug:
    """Pair another plug into one of the owner's homes."""
    paired = await api.plug(owner.access, home_id, plug_id, name=f"Plug {plug_id[-2:]}")
    return Plug(paired["device"]["id"], paired["credential"]["secret"])


async def add_threshold(api: Api, who: Account, device_id: str, **fields: Any) -> dict[str, Any]:
    await fresh(api, who)
    reply = await api.call(
        "POST", f"/api/v1/devices/{device_id}/thresholds", token=who.access, json_body=fields
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def add_rule(api: Api, home: Household, **fields: Any) -> dict[str, Any]:
    """A threshold on the household's plug, made by its owner."""
    return await add_threshold(api, home.owner, home.device_id, **fields)


async def report(
    api: Api,
    clock: FakeClock,
    home: Household | Plug,
    *,
    power: float = 100.0,
    current: float = 0.5,
    voltage: float = 230.0,
    energy: float = 1.0,
    relay: str = "ON",
) -> None:
    """One reading of the plug, signed and sent to POST /api/v1/ingest at the clock's now."""
    now = ms(clock())
    sample = {"ts": now, "power": power, "voltage": voltage, "current": current,
              "energy": energy, "relay": relay}  # fmt: skip
    body = json.dumps({"samples": [sample]}).encode()
    reply = await api.call(
        "POST", "/api/v1/ingest", data=body,
        headers=signed_headers(home.device_id, home.secret, body, now),
    )  # fmt: skip
    assert reply.status == 200, reply.body
    assert reply.body["stored"] == 1, reply.body


async def run_checks(api: Api) -> bool:
    """The periodic alert job, once (as the job runner runs it)."""
    return await app_of(api)[JOBS].run_job(ALERT_JOB, force=True)


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
