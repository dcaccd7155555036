"""Remote access through the HA link: relay and protection commands from the API reach the
hub over its websocket and are answered with the state the plug confirmed; offline hubs and
plugs, silence, refusals; and the owner's audit trail of every command."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from greennet_cloud import Config
from greennet_cloud.web.keys import JOBS

from .api import Api
from .conftest import FakeClock
from .hub import TestHub
from .linking import LinkedHome, linked_home, relay, with_link

PLUG = "greennet-22bb01"
OTHER = "greennet-22bb02"


@pytest.fixture
def config(config: Config) -> Config:
    """A 1 s command timeout, so a 504 is tested in a second."""
    return with_link(config, command_timeout_seconds=1.0)


async def linked(api: Api, *plugs: str) -> tuple[LinkedHome, TestHub, dict[str, str]]:
    """A home whose hub is connected and has announced `plugs`: (home, hub, device ids)."""
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, *plugs)
    await hub.connect()
    devices = (await hub.announce())["devices"]
    return home, hub, devices


async def test_the_owner_switches_a_plug_and_gets_the_confirmed_state(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)
    device_id = devices[PLUG]
    on = await relay(api, home.owner, device_id, "ON")
    assert on.status == 200, on.body
    assert on.body == {
        "command_id": on.body["command_id"],
        "device_id": device_id,
        "relay": "ON",
        "max_current": 10.0,
        "max_power": 2300.0,
        "tripped": False,
    }
    assert hub.plugs[PLUG].relay is True
    command = hub.commands[-1]
    assert command == {
        "type": "command",
        "id": on.body["command_id"],
        "plug_id": PLUG,
        "action": "relay",
        "value": "ON",
    }
    toggled = await relay(api, home.owner, device_id, "TOGGLE")
    assert (toggled.status, toggled.body["relay"]) == (200, "OFF")
    shown = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert shown.body["relay"] == "OFF"
    await hub.close()


@pytest.mark.parametrize("shared", ["home", "device"])
async def test_a_control_share_switches_a_plug(api: Api, shared: str) -> None:
    home, hub, devices = await linked(api, PLUG)
    friend = await api.account("friend@example.com")
    path = (
        f"/api/v1/homes/{home.home_id}/shares"
        if shared == "home"
        else f"/api/v1/devices/{devices[PLUG]}/shares"
    )
    granted = await api.call(
        "POST",
        path,
        token=home.owner.access,
        json_body={"email": friend.email, "permission": "control"},
    )
    assert granted.status == 201
    switched = await relay(api, friend, devices[PLUG], "ON")
    assert (switched.status, switched.body["relay"]) == (200, "ON")
    await hub.close()


async def test_a_read_share_gets_403_and_nothing_reaches_the_hub(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)
    reader = await home.share(api, "reader@example.com", "read")
    refused = await relay(api, reader, devices[PLUG], "ON")
    assert (refused.status, refused.error) == (403, "forbidden")
    stranger = await api.account("stranger@example.com")
    hidden = await relay(api, stranger, devices[PLUG], "ON")
    assert (hidden.status, hidden.error) == (404, "not_found")
    assert hub.commands == []
    await hub.close()


async def test_an_offline_plug_answers_503_plug_offline(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)
    hub.plugs[PLUG].online = False
    offline = await relay(api, home.owner, devices[PLUG], "ON")
    assert (offline.status, offline.error) == (503, "plug_offline")
    assert len(hub.commands) == 1  # the hub was asked: only it knows the plug is gone
    await hub.close()


async def test_a_home_without_a_live_link_answers_503_hub_offline(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)
    await hub.close()
    # the hub is gone (its row too, once the cloud noticed): nothing to wait for
    offline = await relay(api, home.owner, devices[PLUG], "ON")
    assert (offline.status, offline.error) == (503, "hub_offline")
    # connected but not yet through hello: not ready for commands either
    silent = home.hub(api, PLUG)
    await silent.connect(hello=False)
    early = await relay(api, home.owner, devices[PLUG], "ON")
    assert (early.status, early.error) == (503, "hub_offline")
    assert silent.commands == []
    await silent.close()


async def test_a_hub_that_never_answers_gets_504_after_the_timeout(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)

    async def ignore(command: dict[str, Any]) -> None:
        return None

    hub.answer = ignore
    started = asyncio.get_running_loop().time()
    silent = await relay(api, home.owner, devices[PLUG], "ON")
    waited = asyncio.get_running_loop().time() - started
    assert (silent.status, silent.error) == (504, "command_timeout")
    assert 0.9 <= waited < 3
    # a late answer changes nothing and breaks nothing
    await hub.send("command_result", reply_to=hub.commands[0]["id"], ok=True, state={})
    assert (await hub.request("ping"))["type"] == "pong"
    await hub.close()


async def test_a_link_closing_before_the_answer_gets_503_at_once(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)

    async def hang_up(command: dict[str, Any]) -> None:
        assert hub.ws is not None
        await hub.ws.close()

    hub.answer = hang_up
    started = asyncio.get_running_loop().time()
    gone = await relay(api, home.owner, devices[PLUG], "ON")
    assert (gone.status, gone.error) == (503, "hub_offline")
    assert asyncio.get_running_loop().time() - started < 0.9  # not the 1 s timeout


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("timeout", 504, "command_timeout"),
        ("not_allowed", 403, "not_allowed"),
        ("invalid_command", 400, "invalid_command"),
        ("flux_capacitor", 502, "hub_error"),
    ],
)
async def test_a_hub_refusal_maps_to_its_status(
    api: Api, error: str, status: int, code: str
) -> None:
    home, hub, devices = await linked(api, PLUG)

    async def refuse(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "error": error}

    hub.answer = refuse
    answer = await relay(api, home.owner, devices[PLUG], "OFF")
    assert (answer.status, answer.error) == (status, code)
    await hub.close()


async def test_protection_limits_are_set_and_confirmed(api: Api) -> None:
    home, hub, devices = await linked(api, PLUG)
    hub.plugs[PLUG].tripped = True
    path = f"/api/v1/devices/{devices[PLUG]}/protection"
    done = await api.call(
        "POST",
        path,
        token=home.owner.access,
        json_body={"max_current": 8.5, "max_power": 1800, "reset": True},
    )
    assert done.status == 200, done.body
    assert (done.body["max_current"], done.body["max_power"], done.body["tripped"]) == (
        8.5,
        1800.0,
        False,
    )
    assert hub.commands[-1]["action"] == "protection"
    assert {k: hub.commands[-1][k] for k in ("max_current", "max_power", "reset")} == {
        "max_current": 8.5,
        "max_power": 1800.0,
        "reset": True,
    }
    for body in ({}, {"max_current": 0}, {"max_power": 1e9}, {"reset": False}, {"max_power": "x"}):
        bad = await api.call("POST", path, token=home.owner.access, json_body=body)
        assert (bad.status, bad.error) == (400, "invalid_input"), body
    bad_relay = await relay(api, home.owner, devices[PLUG], "BLINK")
    assert (bad_relay.status, bad_relay.error) == (400, "invalid_input")
    assert len(hub.commands) == 1
    await hub.close()


async def test_commands_go_to_the_hub_that_announced_the_plug(api: Api) -> None:
    home, first, devices = await linked(api, PLUG)
    token, _token_id = await home.new_token(api, "garage HA")
    second = home.hub(api, OTHER, token=token)
    await second.connect()
    other_id = (await second.announce())["devices"][OTHER]
    assert (await relay(api, home.owner, other_id, "ON")).status == 200
    assert (await relay(api, home.owner, devices[PLUG], "ON")).status == 200
    assert [c["plug_id"] for c in first.commands] == [PLUG]
    assert [c["plug_id"] for c in second.commands] == [OTHER]
    await first.close()
    await second.close()


async def test_the_owner_reads_every_command_with_who_when_and_the_result(
    api: Api, clock: FakeClock
) -> None:
    home, hub, devices = await linked(api, PLUG)
    friend = await home.share(api, "friend@example.com", "control")
    assert (await relay(api, home.owner, devices[PLUG], "ON")).status == 200
    clock.advance(1)
    hub.plugs[PLUG].online = False
    assert (await relay(api, friend, devices[PLUG], "OFF")).status == 503
    clock.advance(1)
    await hub.close()
    assert (await relay(api, friend, devices[PLUG], "TOGGLE")).status == 503
    path = f"/api/v1/homes/{home.home_id}/commands"
    trail = await api.call("GET", path, token=home.owner.access)
    assert trail.status == 200, trail.body
    assert [
        (entry["email"], entry["params"], entry["result"], entry["plug_id"]) for entry in trail.body
    ] == [
        (friend.email, {"value": "TOGGLE"}, "hub_offline", PLUG),
        (friend.email, {"value": "OFF"}, "plug_offline", PLUG),
        (home.owner.email, {"value": "ON"}, "ok", PLUG),
    ]
    assert trail.body[2]["state"]["relay"] == "ON"
    assert trail.body[2]["device_id"] == devices[PLUG]
    assert trail.body[2]["finished_at"] is not None
    # pages: the next page starts before the last entry's time
    page = await api.call("GET", f"{path}?limit=1", token=home.owner.access)
    assert [entry["id"] for entry in page.body] == [trail.body[0]["id"]]
    rest = await api.call(
        "GET", f"{path}?before={trail.body[0]['created_at']}", token=home.owner.access
    )
    assert [entry["id"] for entry in rest.body] == [entry["id"] for entry in trail.body[1:]]
    # the trail is the owner's: a control share may switch, not read who else did
    refused = await api.call("GET", path, token=friend.access)
    assert (refused.status, refused.error) == (403, "forbidden")
    bad = await api.call("GET", f"{path}?limit=0", token=home.owner.access)
    assert (bad.status, bad.error) == (400, "invalid_input")
    # the trail outlives the device
    removed = await api.call("DELETE", f"/api/v1/devices/{devices[PLUG]}", token=home.owner.access)
    assert removed.status == 204
    kept = await api.call("GET", path, token=home.owner.access)
    assert [(entry["device_id"], entry["plug_id"]) for entry in kept.body] == [(None, PLUG)] * 3


async def test_the_retention_job_forgets_commands_past_their_days(
    api: Api, clock: FakeClock
) -> None:
    home, hub, devices = await linked(api, PLUG)
    assert (await relay(api, home.owner, devices[PLUG], "ON")).status == 200
    clock.advance(364 * 86_400)
    relogged = await api.session(home.owner.email, home.owner.id)
    # the hub's heartbeat is long stale by now: refused, and recorded all the same
    assert (await relay(api, relogged, devices[PLUG], "OFF")).status == 503
    clock.advance(2 * 86_400)  # the first is now 366 days old, the second 2 days
    await api.client.app[JOBS].run_job("retention", force=True)
    relogged = await api.session(home.owner.email, home.owner.id)
    trail = await api.call("GET", f"/api/v1/homes/{home.home_id}/commands", token=relogged.access)
    assert trail.status == 200, trail.body
    assert [entry["params"] for entry in trail.body] == [{"value": "OFF"}]
    await hub.close()
