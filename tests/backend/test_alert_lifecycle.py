"""Alert lifecycle active → acknowledged → resolved with its history, and who may do what:
anyone who may read the device sees its alerts, acknowledging and resolving need control
or ownership, strangers learn nothing; GET /api/v1/alerts filters by state, device, home
and time."""

from __future__ import annotations

from typing import Any

from .alerting import (
    Household,
    Plug,
    add_threshold,
    alerts_of,
    fresh,
    household,
    paired_plug,
    report,
)
from .api import Account, Api
from .conftest import FakeClock
from .notifying import home_with_plugs

A = "/api/v1/alerts"


async def raise_one(api: Api, clock: FakeClock, owner: Account, plug: Household | Plug) -> str:
    await add_threshold(api, owner, plug.device_id, metric="power", direction="above", value=100)
    await report(api, clock, plug, power=1000)
    found = [a for a in await alerts_of(api, owner) if a["device_id"] == plug.device_id]
    return str(found[0]["id"])


async def call(api: Api, method: str, path: str, who: Account) -> Any:
    return await api.call(method, path, token=(await fresh(api, who)).access)


async def test_acknowledge_then_resolve_with_history_and_permissions(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    alert_id = await raise_one(api, clock, home.owner, home)

    for who in (home.owner, home.controller, home.reader):
        seen = await call(api, "GET", f"{A}/{alert_id}", who)
        assert seen.status == 200
        assert seen.body["state"] == "active"
    assert (await call(api, "GET", f"{A}/{alert_id}", home.stranger)).status == 404
    assert await alerts_of(api, home.stranger) == []

    refused = await call(api, "POST", f"{A}/{alert_id}/acknowledge", home.reader)
    assert (refused.status, refused.error) == (403, "forbidden")
    hidden = await call(api, "POST", f"{A}/{alert_id}/acknowledge", home.stranger)
    assert hidden.status == 404

    clock.advance(30)
    acked = await call(api, "POST", f"{A}/{alert_id}/acknowledge", home.controller)
    assert acked.status == 200
    assert acked.body["state"] == "acknowledged"
    assert acked.body["acknowledged_by"] == home.controller.id
    again = await call(api, "POST", f"{A}/{alert_id}/acknowledge", home.owner)
    assert (again.status, again.error) == (409, "alert_acknowledged")

    assert (await call(api, "POST", f"{A}/{alert_id}/resolve", home.reader)).status == 403
    clock.advance(30)
    resolved = await call(api, "POST", f"{A}/{alert_id}/resolve", home.owner)
    assert resolved.status == 200
    assert resolved.body["state"] == "resolved"
    assert resolved.body["resolved_by"] == home.owner.id
    history = [(e["kind"], e["user_id"]) for e in resolved.body["history"]]
    assert history == [
        ("raised", None),
        ("notified", None),
        ("acknowledged", home.controller.id),
        ("resolved", home.owner.id),
    ]
    assert [e["at"] for e in resolved.body["history"]] == sorted(
        e["at"] for e in resolved.body["history"]
    )
    late = await call(api, "POST", f"{A}/{alert_id}/acknowledge", home.controller)
    assert (late.status, late.error) == (409, "alert_resolved")
    assert (await call(api, "POST", f"{A}/{alert_id}/resolve", home.owner)).status == 409


async def test_an_active_alert_can_be_resolved_without_acknowledging(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    alert_id = await raise_one(api, clock, home.owner, home)
    resolved = await call(api, "POST", f"{A}/{alert_id}/resolve", home.controller)
    assert resolved.body["state"] == "resolved"
    assert resolved.body["acknowledged_at"] is None
    # still high: no new alert until the reading has been back in range
    clock.advance(60)
    await report(api, clock, home, power=1000)
    assert [a["state"] for a in await alerts_of(api, home.owner)] == ["resolved"]
    clock.advance(60)
    await report(api, clock, home, power=50)
    clock.advance(60)
    await report(api, clock, home, power=1000)
    assert [a["state"] for a in await alerts_of(api, home.owner)] == ["active", "resolved"]


async def test_deleting_a_threshold_resolves_its_open_alert(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    alert_id = await raise_one(api, clock, home.owner, home)
    [threshold] = (await call(api, "GET", home.thresholds, home.owner)).body
    deleted = await call(api, "DELETE", f"{home.thresholds}/{threshold['id']}", home.controller)
    assert deleted.status == 204
    alert = (await call(api, "GET", f"{A}/{alert_id}", home.owner)).body
    assert (alert["state"], alert["threshold_id"]) == ("resolved", None)
    assert alert["history"][-1]["detail"] == "threshold deleted"


async def test_alerts_filter_by_state_device_home_and_time(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    second_home = await home_with_plugs(api, home.owner)
    other = await paired_plug(api, home.owner, second_home, "greennet-a1e702")
    first = await raise_one(api, clock, home.owner, home)
    clock.advance(3600)
    middle = clock()
    second = await raise_one(api, clock, home.owner, other)
    await call(api, "POST", f"{A}/{first}/acknowledge", home.owner)

    async def ids(query: str, who: Account = home.owner) -> list[str]:
        return [a["id"] for a in await alerts_of(api, who, query)]

    stamp = middle.isoformat().replace("+00:00", "Z")
    assert await ids("") == [second, first]
    assert await ids("?state=acknowledged") == [first]
    assert await ids("?state=active") == [second]
    assert await ids("?state=resolved") == []
    assert await ids(f"?device_id={home.device_id}") == [first]
    assert await ids(f"?home_id={second_home}") == [second]
    assert await ids(f"?home_id={home.home_id}&state=acknowledged") == [first]
    assert await ids(f"?since={stamp}") == [second]
    assert await ids(f"?until={stamp}") == [first]
    assert await ids("?limit=1") == [second]
    # the reader sees only the plug shared with them
    assert await ids("", home.reader) == [first]
    assert await ids(f"?home_id={second_home}", home.reader) == []

    for bad in ("state=open", "since=noon", "limit=0", "limit=501", "device_id="):
        reply = await call(api, "GET", f"{A}?{bad}", home.owner)
        assert reply.status == 400, bad
    missing = await call(api, "GET", f"{A}?device_id={other.device_id}", home.reader)
    assert missing.status == 404
