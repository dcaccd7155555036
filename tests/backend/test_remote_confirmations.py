"""A remote command's record and its confirmed state: the audit row exists before the hub
hears the command and holds the outcome when the caller gets the answer; the plug's new
state is stored and published once, whether the hub's own `state` report of the change
comes before or after the command's result; a later report of the same state is stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from greennet_cloud import Config
from greennet_cloud.bus import Message
from greennet_cloud.link import remote as remote_module
from greennet_cloud.services.device_states import CHANNEL, REPEAT_WINDOW
from greennet_cloud.web.keys import BUS

from .api import Api
from .conftest import FakeClock
from .hub import TestHub
from .linking import LinkedHome, linked_home, relay, with_link
from .telemetry import ms

PLUG = "greennet-3c0f01"


@pytest.fixture
def config(config: Config) -> Config:
    """The test link settings."""
    return with_link(config)


async def linked(api: Api) -> tuple[LinkedHome, TestHub, str]:
    """A home whose hub is connected and has announced PLUG: (home, hub, its device id)."""
    home = await linked_home(api, "owner@example.com")
    hub = home.hub(api, PLUG)
    await hub.connect()
    device_id = (await hub.announce())["devices"][PLUG]
    return home, hub, device_id


async def states_heard(api: Api) -> asyncio.Queue[Message]:
    """Every device-state message this app publishes from now on."""
    heard: asyncio.Queue[Message] = asyncio.Queue()
    await api.client.app[BUS].subscribe(CHANNEL, heard.put_nowait)
    return heard


async def relays_until_sentinel(hub: TestHub, heard: asyncio.Queue[Message]) -> list[Any]:
    """The relay values published before a sentinel report (tripped) that the hub sends
    now: everything published earlier has arrived once the sentinel has (one bus, in order)."""
    await hub.request("state", plug_id=PLUG, online=True, relay=None, tripped=True)
    relays = []
    while (message := await asyncio.wait_for(heard.get(), 5))["tripped"] is not True:
        relays.append(message["relay"])
    return relays


async def test_the_command_is_on_record_before_the_hub_hears_it_and_answered_with_its_outcome(
    api: Api,
) -> None:
    home, hub, device_id = await linked(api)
    trail_path = f"/api/v1/homes/{home.home_id}/commands"
    seen_by_hub: list[Any] = []

    async def answer(command: dict[str, Any]) -> dict[str, Any] | None:
        trail = await api.call("GET", trail_path, token=home.owner.access)
        seen_by_hub.extend(trail.body)
        return await hub.confirm(command)

    hub.answer = answer
    on = await relay(api, home.owner, device_id, "ON")
    assert on.status == 200, on.body
    [pending] = seen_by_hub
    assert (pending["id"], pending["params"], pending["result"], pending["finished_at"]) == (
        on.body["command_id"],
        {"value": "ON"},
        None,
        None,
    )
    # the caller's answer comes with the outcome on record
    [done] = (await api.call("GET", trail_path, token=home.owner.access)).body
    assert (done["id"], done["result"], done["state"]["relay"]) == (
        on.body["command_id"],
        "ok",
        "ON",
    )
    assert done["finished_at"] is not None
    await hub.close()


async def test_the_hubs_report_after_the_result_is_not_stored_or_published_again(
    api: Api, clock: FakeClock
) -> None:
    _home, hub, device_id = await linked(api)
    heard = await states_heard(api)
    on = await relay(api, _home.owner, device_id, "ON")
    assert on.status == 200, on.body
    # the integration reports the plug's new state as well (here after the result)
    ack = await hub.request(
        "state", plug_id=PLUG, online=True, relay="ON", tripped=False, ts=ms(clock.now)
    )
    assert ack["type"] == "ack"
    assert await relays_until_sentinel(hub, heard) == ["ON"]
    await hub.close()


async def test_the_hubs_report_before_the_result_is_the_one_stored_and_published(
    api: Api, clock: FakeClock
) -> None:
    home, hub, device_id = await linked(api)
    heard = await states_heard(api)

    async def report_then_answer(command: dict[str, Any]) -> dict[str, Any] | None:
        # as the integration does: the plug's listener reports before the command answers
        result = await hub.confirm(command)
        await hub.request(
            "state", plug_id=PLUG, online=True, relay="ON", tripped=False, ts=ms(clock.now)
        )
        return result

    hub.answer = report_then_answer
    on = await relay(api, home.owner, device_id, "ON")
    assert (on.status, on.body["relay"]) == (200, "ON")
    shown = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert shown.body["relay"] == "ON"
    assert await relays_until_sentinel(hub, heard) == ["ON"]
    await hub.close()


async def test_the_same_state_reported_later_is_stored_again(api: Api, clock: FakeClock) -> None:
    home, hub, device_id = await linked(api)
    heard = await states_heard(api)
    await hub.request("state", plug_id=PLUG, online=True, relay="ON", ts=ms(clock.now))
    assert (await asyncio.wait_for(heard.get(), 5))["relay"] == "ON"
    # within moments: a repeat, skipped
    clock.advance(1)
    await hub.request("state", plug_id=PLUG, online=True, relay="ON", ts=ms(clock.now))
    assert await relays_until_sentinel(hub, heard) == []
    # past the repeat window: the hub vouches for the plug again, so it is stored
    clock.advance(REPEAT_WINDOW.total_seconds() + 1)
    later = ms(clock.now)
    await hub.request("state", plug_id=PLUG, online=True, relay="OFF", tripped=True, ts=later)
    await hub.request("state", plug_id=PLUG, online=True, relay="OFF", tripped=True, ts=later)
    clock.advance(REPEAT_WINDOW.total_seconds() + 1)
    again = ms(clock.now)
    await hub.request("state", plug_id=PLUG, online=True, relay="OFF", tripped=True, ts=again)
    published = [await asyncio.wait_for(heard.get(), 5) for _ in range(2)]
    assert [message["ts"] for message in published] == [later, again]
    assert heard.empty()
    shown = await api.call("GET", f"/api/v1/devices/{device_id}", token=home.owner.access)
    assert (shown.body["relay"], shown.body["online"]) == ("OFF", True)
    await hub.close()


async def test_a_device_removed_while_its_command_is_prepared_is_a_404_and_never_sent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device is read (and the caller's access checked), then deleted by its owner in
    another request before the command is put on record: the audit row's foreign key
    refuses it, and the caller gets 404, not a 500 or a command to a removed plug."""
    home, hub, device_id = await linked(api)
    read_links = remote_module.live_store.live_links_of_home

    async def links_then_removed(*args: Any, **kwargs: Any) -> Any:
        found = await read_links(*args, **kwargs)
        gone = await api.call("DELETE", f"/api/v1/devices/{device_id}", token=home.owner.access)
        assert gone.status == 204, gone.body
        return found

    monkeypatch.setattr(remote_module.live_store, "live_links_of_home", links_then_removed)
    answer = await relay(api, home.owner, device_id, "ON")
    assert (answer.status, answer.error) == (404, "not_found")
    assert [c for c in hub.commands if c.get("type") == "command"] == []
    await hub.close()
