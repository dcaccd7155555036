"""Helpers for telemetry tests: samples, signed device requests, a home with plugs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greennet_cloud.services.device_auth import sign

from .api import Account, Api, Reply


def ms(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def sample(ts: int, power: float = 100.0, energy: float = 1.0, **extra: Any) -> dict[str, Any]:
    """One wire-format sample (230 V, current from power)."""
    return {
        "ts": ts,
        "power": power,
        "voltage": 230.0,
        "current": round(power / 230.0, 3),
        "energy": energy,
        "relay": "ON",
        **extra,
    }


def signed_headers(device_id: str, secret: str, body: bytes, ts_ms: int) -> dict[str, str]:
    """The three headers of a signed device ingest request."""
    stamp = str(ts_ms)
    return {
        "X-Device-Id": device_id,
        "X-Timestamp": stamp,
        "X-Signature": sign(secret, body, stamp),
        "Content-Type": "application/json",
    }


@dataclass
class Plug:
    """A paired plug: its cloud id, plug id and ingest secret."""

    id: str
    plug_id: str
    secret: str


@dataclass
class Household:
    """An owner with a home, its plugs and a link token for the home's HA hub."""

    owner: Account
    home_id: str
    plugs: list[Plug]
    link_token: str

    async def send(self, api: Api, plug: Plug, samples: list[dict[str, Any]], ts_ms: int) -> Reply:
        """POST /api/v1/ingest, signed by `plug` at `ts_ms`."""
        body = json.dumps({"samples": samples}).encode()
        headers = signed_headers(plug.id, plug.secret, body, ts_ms)
        return await api.call("POST", "/api/v1/ingest", data=body, headers=headers)

    async def batch(self, api: Api, samples: list[dict[str, Any]]) -> Reply:
        """POST /api/v1/ingest/batch with the home's link token."""
        return await api.call(
            "POST", "/api/v1/ingest/batch", token=self.link_token, json_body={"samples": samples}
        )


async def household(
    api: Api, email: str, plug_ids: tuple[str, ...] = ("greennet-0a0001",), **home: Any
) -> Household:
    """Register `email`, make a home (extra fields: timezone…), pair plugs, link a hub."""
    owner = await api.account(email)
    made = await api.call(
        "POST", "/api/v1/homes", token=owner.access, json_body={"name": "Home", **home}
    )
    assert made.status == 201, made.body
    home_id = made.body["id"]
    plugs = []
    for plug_id in plug_ids:
        paired = await api.plug(owner.access, home_id, plug_id)
        plugs.append(Plug(paired["device"]["id"], plug_id, paired["credential"]["secret"]))
    link = await api.call(
        "POST", f"/api/v1/homes/{home_id}/link-tokens", token=owner.access, json_body={}
    )
    assert link.status == 201
    return Household(owner, home_id, plugs, link.body["token"])
