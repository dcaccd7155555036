"""The linked hub against the real GreenNet Cloud: plugs, telemetry, state, commands, closes.

Real components throughout: Mosquitto, simulated plugs, the integration in HA's harness and
`greennet-cloud serve` on loopback. The scenarios across restarts and several cloud
processes live in tests/e2e.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import aiomqtt
import pytest
from greennet_sim import Simulator
from homeassistant.components import persistent_notification
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.greennet import async_remove_config_entry_device
from custom_components.greennet import protocol as mqtt
from custom_components.greennet.cloud import const as cloud_const
from custom_components.greennet.cloud import protocol as link_protocol
from custom_components.greennet.cloud.link import CloudLink, LinkState
from custom_components.greennet.const import DOMAIN

from ...backend.live import LiveServer
from ...broker import Mosquitto
from ...cloud_service import CloudApi, CloudUser
from ..conftest import device_of, sim_config, wait_until
from .common import linked_entry


@dataclass
class Linked:
    """A loaded entry linked to `home_id`, its link, and the token it uses."""

    entry: MockConfigEntry
    home_id: str
    token: dict[str, str]

    @property
    def link(self) -> CloudLink:
        link = self.entry.runtime_data.cloud_link
        assert link is not None
        return link


@pytest.fixture
async def linked(
    hass: HomeAssistant, mosquitto: Mosquitto, api: CloudApi, owner: CloudUser, fleet: Simulator
) -> AsyncIterator[Linked]:
    """Two plugs on a hub whose entry is linked to a fresh home, the link up."""
    home_id = await api.create_home(owner, "Flat")
    token = await api.create_link_token(owner, home_id, "test HA")
    entry = linked_entry(mosquitto, api.base, home_id, token["token"])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    linked = Linked(entry, home_id, token)
    await wait_until(hass, lambda: linked.link.connected, timeout=15)
    yield linked
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def until(
    hass: HomeAssistant, check: Callable[[], Awaitable[bool]], timeout: float = 10.0
) -> None:
    """Poll an async check of the cloud until it holds (the cloud is another process)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{check} did not hold within {timeout} s"
        await hass.async_block_till_done()
        await asyncio.sleep(0.1)


async def test_linked_hub_announces_its_plugs_and_streams_their_telemetry(
    hass: HomeAssistant, linked: Linked, api: CloudApi, owner: CloudUser, fleet: Simulator
) -> None:
    plug_ids = sorted(plug.id for plug in fleet.plugs)

    async def announced() -> bool:
        devices = await api.devices(owner, linked.home_id)
        return sorted(d["plug_id"] for d in devices) == plug_ids

    await until(hass, announced)
    device = await api.device_of(owner, linked.home_id, plug_ids[0])
    assert device["name"] == fleet.plug(plug_ids[0]).name
    since = int(time.time() * 1000) - 1000
    for _ in range(3):
        await fleet.report(plug_ids[0])
        await asyncio.sleep(0.02)

    async def stored() -> bool:
        return len(await api.telemetry(owner, device["id"], since)) >= 3

    await until(hass, stored)
    assert len(linked.link.backlog) == 0  # every sample acknowledged
    sensor = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{linked.entry.entry_id}_cloud_connected"
    )
    assert sensor is not None
    assert hass.states.get(sensor).state == "on"


async def test_a_remote_relay_command_switches_the_plug_and_returns_the_confirmed_state(
    hass: HomeAssistant, linked: Linked, api: CloudApi, owner: CloudUser, fleet: Simulator
) -> None:
    plug = fleet.plugs[0]
    assert plug.state.relay is True
    await until(hass, lambda: _has_device(api, owner, linked.home_id, plug.id))
    device = await api.device_of(owner, linked.home_id, plug.id)
    answer = await api.switch(owner, device["id"], "OFF")
    assert answer["relay"] == "OFF"
    assert plug.state.relay is False
    answer = await api.switch(owner, device["id"], "TOGGLE")
    assert answer["relay"] == "ON"
    assert plug.state.relay is True
    # switching to the state the plug is in answers at once, with that state
    assert (await api.switch(owner, device["id"], "ON"))["relay"] == "ON"
    trail = await api.commands(owner, linked.home_id)
    assert [c["result"] for c in trail] == ["ok", "ok", "ok"]


async def _has_device(api: CloudApi, owner: CloudUser, home_id: str, plug_id: str) -> bool:
    return plug_id in {d["plug_id"] for d in await api.devices(owner, home_id)}


async def test_protection_limits_and_reset_are_confirmed_by_the_plug(
    hass: HomeAssistant, linked: Linked, api: CloudApi, owner: CloudUser, fleet: Simulator
) -> None:
    plug = fleet.plugs[1]
    await until(hass, lambda: _has_device(api, owner, linked.home_id, plug.id))
    device = await api.device_of(owner, linked.home_id, plug.id)
    answer = await api.protect(owner, device["id"], {"max_power": 1500, "max_current": 7.5})
    assert (answer["max_power"], answer["max_current"]) == (1500, 7.5)
    assert (plug.state.max_power, plug.state.max_current) == (1500, 7.5)
    # the same limits again change nothing: answered at once with the plug's state
    again = await api.protect(owner, device["id"], {"max_power": 1500})
    assert again["max_power"] == 1500

    plug.set_load(2500)
    await fleet.step(plug.id, 1)
    await wait_until(hass, lambda: linked.entry.runtime_data.plugs[plug.id].protection.tripped)
    refused = await api.switch(owner, device["id"], "ON", expect=403)
    assert refused["error"] == "not_allowed"
    plug.set_load(100)
    answer = await api.protect(owner, device["id"], {"reset": True})
    assert answer["tripped"] is False
    assert (await api.switch(owner, device["id"], "ON"))["relay"] == "ON"


async def test_an_offline_plug_answers_503(
    hass: HomeAssistant,
    linked: Linked,
    api: CloudApi,
    owner: CloudUser,
    fleet: Simulator,
    mosquitto: Mosquitto,
) -> None:
    plug = fleet.plugs[0]
    await until(hass, lambda: _has_device(api, owner, linked.home_id, plug.id))
    device = await api.device_of(owner, linked.home_id, plug.id)
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, username=mosquitto.username, password=mosquitto.password
    ) as client:  # what the broker publishes as the plug's last will
        await client.publish(f"greennet/{plug.id}/status", "offline", qos=1, retain=True)
    await wait_until(hass, lambda: linked.entry.runtime_data.plugs[plug.id].online is False)
    answer = await api.switch(owner, device["id"], "OFF", expect=503)
    assert answer["error"] == "plug_offline"
    assert plug.state.relay is True

    async def shown_offline() -> bool:
        return (await api.device_of(owner, linked.home_id, plug.id))["online"] is False

    await until(hass, shown_offline)


async def test_revoking_the_token_closes_the_link_and_asks_for_reauth(
    hass: HomeAssistant, linked: Linked, api: CloudApi, owner: CloudUser
) -> None:
    await api.revoke_link_token(owner, linked.home_id, linked.token["id"])
    await wait_until(hass, lambda: linked.link.state is LinkState.AUTH_FAILED, timeout=15)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["step_id"] for f in flows] == ["cloud_reauth"]
    sensor = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{linked.entry.entry_id}_cloud_connected"
    )
    assert hass.states.get(sensor).state == "off"


async def test_a_second_hub_with_the_same_token_takes_over_and_this_one_stops(
    hass: HomeAssistant, linked: Linked, api: CloudApi
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            api.base.replace("http", "ws") + "/api/v1/link",
            protocols=("greennet-link.1",),
            headers={"Authorization": f"Bearer {linked.token['token']}"},
        ) as other,
    ):
        await other.send_json(
            {"type": "hello", "id": "1", "protocol": 1, "hub_id": "x", "sw_version": "0",
             "ha_version": "0"}
        )  # fmt: skip
        assert (await other.receive_json())["type"] == "welcome"
        await wait_until(hass, lambda: linked.link.state is LinkState.REPLACED, timeout=10)
        await asyncio.sleep(0.5)  # this hub does not come back to fight for the token
        assert linked.link.state is LinkState.REPLACED
        assert not other.closed


async def test_diagnostics_show_the_link_without_its_token(
    hass: HomeAssistant, linked: Linked, hass_client: ClientSessionGenerator
) -> None:
    result = await get_diagnostics_for_config_entry(hass, hass_client, linked.entry)
    assert result["entry"]["data"]["cloud"]["token"] == "**REDACTED**"
    assert result["cloud_link"]["state"] == "connected"
    assert result["cloud_link"]["home_id"] == linked.home_id
    assert linked.token["token"] not in str(result)


async def test_a_plug_appearing_later_is_announced_to_the_cloud(
    hass: HomeAssistant,
    linked: Linked,
    api: CloudApi,
    owner: CloudUser,
    fleet: Simulator,
    mosquitto: Mosquitto,
) -> None:
    await until(hass, lambda: _has_device(api, owner, linked.home_id, fleet.plugs[1].id))
    seed = fleet.config.seed + 64  # plug ids of their own
    async with Simulator(sim_config(mosquitto, count=1, seed=seed)) as newcomer:
        await newcomer.wait_online()
        await until(hass, lambda: _has_device(api, owner, linked.home_id, newcomer.plugs[0].id))
    assert len(await api.devices(owner, linked.home_id)) == 3


def inject(linked: Linked, frame: dict[str, object]) -> None:
    """Hand the live session a frame as if the cloud had sent it (its reader does the same)."""
    session = linked.link._session
    assert session is not None
    session._take(json.dumps(frame))


async def test_cloud_notifications_become_persistent_notifications(
    hass: HomeAssistant, linked: Linked
) -> None:
    raised = {"type": "notification", "id": "c-n1", "notification_id": "alert-7"}
    inject(linked, {**raised, "title": "Fridge", "message": "Power above 300 W for 5 min"})
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    shown = notifications[f"{DOMAIN}_alert-7"]
    assert (shown["title"], shown["message"]) == ("Fridge", "Power above 300 W for 5 min")
    # the resolved alert replaces the raised one (same notification id)
    inject(linked, {**raised, "id": "c-n2", "title": "Fridge", "message": "Back to normal"})
    await hass.async_block_till_done()
    assert notifications[f"{DOMAIN}_alert-7"]["message"] == "Back to normal"
    assert len([n for n in notifications if n.startswith(DOMAIN)]) == 1


async def test_unknown_and_invalid_cloud_messages_are_dropped_with_one_log_line(
    hass: HomeAssistant, linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    inject(linked, {"type": "firmware_offer", "id": "c-u1"})
    inject(linked, {"type": "firmware_offer", "id": "c-u2"})
    inject(linked, {"type": "notification", "id": "c-bad"})  # no message
    inject(linked, {"type": "command", "id": "c-cmd", "plug_id": "x", "action": "relay"})
    await hass.async_block_till_done()
    assert caplog.text.count("Ignored GreenNet Cloud message: unknown message type") == 1
    invalid = [r for r in caplog.records if "Dropped invalid GreenNet Cloud" in r.getMessage()]
    # the first at warning, then quieter: a misbehaving cloud does not flood the log
    assert [r.levelname for r in invalid] == ["WARNING", "DEBUG"]
    await asyncio.sleep(0.3)
    assert linked.link.connected  # the link stays up


async def test_a_cloud_speaking_another_protocol_stops_the_link_with_a_repair_issue(
    hass: HomeAssistant,
    mosquitto: Mosquitto,
    api: CloudApi,
    owner: CloudUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # this Home Assistant speaks a protocol version the cloud does not (yet)
    monkeypatch.setattr(link_protocol, "LINK_PROTOCOL", 2)
    home_id = await api.create_home(owner, "Flat")
    token = await api.create_link_token(owner, home_id, "future HA")
    entry = linked_entry(mosquitto, api.base, home_id, token["token"])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    link = entry.runtime_data.cloud_link
    await wait_until(hass, lambda: link.state is LinkState.UNSUPPORTED, timeout=15)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"cloud_link_unsupported_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"hub": entry.title, "url": api.base}
    await asyncio.sleep(0.5)
    assert link.state is LinkState.UNSUPPORTED  # it does not retry by itself
    await hass.config_entries.async_unload(entry.entry_id)


async def publish(mosquitto: Mosquitto, messages: list[tuple[str, str, bool]]) -> None:
    """Publish (topic, payload, retained) as a plug would, from a plain MQTT client."""
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, username=mosquitto.username, password=mosquitto.password
    ) as client:
        for topic, payload, retain in messages:
            await client.publish(topic, payload, qos=1, retain=retain)


async def test_a_plug_that_never_confirms_answers_timeout(
    hass: HomeAssistant,
    linked: Linked,
    api: CloudApi,
    owner: CloudUser,
    mosquitto: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cloud_const, "COMMAND_TIMEOUT", 0.5)
    # a plug that is online and known, but deaf to commands (its firmware hangs)
    mute = Simulator(sim_config(mosquitto, count=1, seed=251)).plugs[0]
    await publish(
        mosquitto,
        [
            (f"greennet/{mute.id}/status", "online", True),
            (f"greennet/{mute.id}/info", mqtt.encode_info(mute.info()), True),
            (f"greennet/{mute.id}/relay", "ON", True),
        ],
    )
    await until(hass, lambda: _has_device(api, owner, linked.home_id, mute.id))
    device = await api.device_of(owner, linked.home_id, mute.id)
    answer = await api.switch(owner, device["id"], "OFF", expect=504)
    assert answer["error"] == "command_timeout"
    limits = await api.protect(owner, device["id"], {"max_power": 900}, expect=504)
    assert limits["error"] == "command_timeout"
    trail = await api.commands(owner, linked.home_id)
    assert [c["result"] for c in trail] == ["timeout", "timeout"]
    await publish(mosquitto, [(f"greennet/{mute.id}/{c}", "", True) for c in ("status", "info")])


async def test_samples_the_cloud_refuses_are_dropped_not_retried(
    hass: HomeAssistant,
    linked: Linked,
    fleet: Simulator,
    mosquitto: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plug = fleet.plugs[0]
    await until(hass, lambda: _true(len(linked.link.backlog) == 0))
    ahead = mqtt.Telemetry(230.0, 0.1, 23.0, 1.0, True, ts=int(time.time() * 1000) + 3_600_000)
    await publish(
        mosquitto, [(f"greennet/{plug.id}/telemetry", mqtt.encode_telemetry(ahead), False)]
    )
    await until(hass, lambda: _true("GreenNet Cloud refused 1 samples" in caplog.text))
    await until(hass, lambda: _true(len(linked.link.backlog) == 0))


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
def brisk_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ping after 0.3 s of quiet, give up after 1 s of silence, retry within 0.3 s."""
    monkeypatch.setattr(cloud_const, "IDLE_TIMEOUT", 1.0)
    monkeypatch.setattr(cloud_const, "PING_INTERVAL", 0.3)
    monkeypatch.setattr(cloud_const, "BACKOFF_CAP", 0.3)


async def test_a_silent_cloud_is_given_up_on_and_reconnected_when_it_wakes(
    brisk_keepalive: None, hass: HomeAssistant, linked: Linked, cloud: LiveServer
) -> None:
    assert cloud.proc is not None
    session = linked.link._session
    await asyncio.sleep(2.5)  # our pings answered: a quiet but live cloud keeps the link
    assert linked.link.connected
    assert linked.link._session is session
    cloud.proc.send_signal(signal.SIGSTOP)  # hung: the socket stays open, nothing comes back
    try:
        await wait_until(hass, lambda: not linked.link.connected, timeout=10)
        assert "nothing heard" in (linked.link.last_error or "")
    finally:
        cloud.proc.send_signal(signal.SIGCONT)
    await wait_until(hass, lambda: linked.link.connected, timeout=20)


async def test_a_plug_removed_and_found_again_is_streamed_once(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    linked: Linked,
    fleet: Simulator,
    mosquitto: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plug = fleet.plugs[0]
    hub = linked.entry.runtime_data
    await fleet.report(plug.id)
    await wait_until(hass, lambda: hub.plugs[plug.id].telemetry is not None)
    await publish(mosquitto, [(f"greennet/{plug.id}/status", "offline", True)])
    await wait_until(hass, lambda: hub.plugs[plug.id].online is False)
    # the user deletes the offline plug's device, from its device page
    device = device_of(hass, plug.id)
    assert device is not None
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": linked.entry.entry_id,
            "device_id": device.id,
        }
    )
    assert (await client.receive_json())["success"]
    await hass.async_block_till_done()
    assert device_of(hass, plug.id) is None
    queued: list[Any] = []
    original = linked.link.backlog.append
    monkeypatch.setattr(linked.link.backlog, "append", lambda s: (queued.append(s), original(s)))
    info = mqtt.encode_info(plug.info())
    await publish(  # the plug comes back
        mosquitto,
        [(f"greennet/{plug.id}/status", "online", True), (f"greennet/{plug.id}/info", info, True)],
    )
    await wait_until(hass, lambda: plug.id in hub.plugs and hub.plugs[plug.id].info is not None)
    await fleet.report(plug.id)
    await wait_until(hass, lambda: any(s[0] == plug.id for s in queued))
    await asyncio.sleep(0.2)
    assert [s[0] for s in queued].count(plug.id) == 1
    assert queued[0][1] == hub.plugs[plug.id].telemetry.ts  # this report, not a stale one


async def test_the_hub_device_carries_the_cloud_sensor_and_stays_while_linked(
    hass: HomeAssistant, linked: Linked, hass_client: ClientSessionGenerator
) -> None:
    entry = linked.entry
    registry = dr.async_get(hass)
    (device,) = [
        d
        for d in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if (DOMAIN, f"hub-{entry.entry_id}") in d.identifiers
    ]
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == entry.title
    assert device.configuration_url == f"{linked.link.settings.url}/app/"
    sensor = er.async_get(hass).async_get(
        er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{entry.entry_id}_cloud_connected"
        )
        or ""
    )
    assert sensor is not None
    assert sensor.device_id == device.id
    assert sensor.entity_category is EntityCategory.DIAGNOSTIC
    assert not await async_remove_config_entry_device(hass, entry, device)
    diagnostics = await get_diagnostics_for_device(hass, hass_client, entry, device)
    assert diagnostics["cloud_link"]["state"] == "connected"
    assert linked.token["token"] not in str(diagnostics)
