"""Plugs come and go, entries load and unload, options and repairs do their job."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_ON, STATE_UNAVAILABLE
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
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    CONF_DEADBAND,
    CONF_IGNORED_PLUGS,
    CONF_INTERVAL,
    DOMAIN,
)

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import device_of, open_plug_settings, sim_config, state_of, wait_until


async def test_a_plug_appearing_later_gets_its_device_without_reload(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    hub = entry.runtime_data
    async with Simulator(sim_config(mosquitto, count=1, seed=9)) as newcomer:
        plug = newcomer.plugs[0]
        assert device_of(hass, plug.id) is None
        await newcomer.wait_online()
        await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
        device = device_of(hass, plug.id)
        assert device is not None
        assert device.name == plug.name
        assert entry.runtime_data is hub
        # 6 sensors, a switch, 4 numbers, a select, a binary sensor, 3 events
        registry = er.async_get(hass)
        await wait_until(
            hass,
            lambda: len(er.async_entries_for_device(registry, device.id, True)) == 16,
        )


async def test_an_online_plug_cannot_be_removed_an_offline_one_can(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None

    async def remove() -> dict[str, Any]:
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": entry.entry_id,
                "device_id": device.id,
            }
        )
        response: dict[str, Any] = await client.receive_json()
        return response

    assert not (await remove())["success"]
    assert device_of(hass, plug.id) is not None

    await sim.stop()
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_UNAVAILABLE)
    assert (await remove())["success"]
    await hass.async_block_till_done()
    assert device_of(hass, plug.id) is None
    assert plug.id not in entry.runtime_data.plugs
    assert er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{plug.id}_relay") is None

    # Its retained topics are gone from the broker: a new subscriber gets nothing for it.
    async with Observer(mosquitto) as late:
        await late.wait_for(lambda m: sim.plugs[1].id in m.topic and m.retain)
        with pytest.raises(TimeoutError):
            await late.wait_for(lambda m: plug.id in m.topic, wait=0.3)
    assert device_of(hass, sim.plugs[1].id) is not None  # the other plug is untouched


async def test_a_plug_of_an_unloaded_entry_can_be_removed(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    device = device_of(hass, sim.plugs[0].id)
    assert device is not None
    await hass.config_entries.async_unload(entry.entry_id)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry.entry_id,
            "device_id": device.id,
        }
    )
    assert (await client.receive_json())["success"]
    assert device_of(hass, sim.plugs[0].id) is None


async def test_unload_closes_everything_and_reload_restores_it(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    hub = entry.runtime_data
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not hub.connected
    assert state_of(hass, "switch", plug.id, "relay") == STATE_UNAVAILABLE

    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
    assert entry.runtime_data is not hub
    await hass.config_entries.async_reload(entry.entry_id)
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
    assert entry.state is ConfigEntryState.LOADED


async def test_home_assistant_stopping_closes_the_broker_session_quietly(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    """HA does not unload entries when it stops: without its own stop listener the session
    stayed open until the process ended (no DISCONNECT for the broker, and aiomqtt's
    disconnect future failing later with nobody to read it: "Future exception was never
    retrieved"). Entities keep their last state for the history: no "unavailable" at stop."""
    plug = sim.plugs[0]
    hub = entry.runtime_data
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
    assert hub.connected
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not hub.connected
    assert state_of(hass, "switch", plug.id, "relay") == STATE_ON


async def test_diagnostics_redact_credentials(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    plug = sim.plugs[0]
    await sim.report(plug.id)
    await wait_until(hass, lambda: entry.runtime_data.plugs[plug.id].telemetry is not None)
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert result["entry"]["data"]["username"] == "**REDACTED**"
    assert result["entry"]["data"]["port"] == mosquitto.port
    assert mosquitto.password not in str(result)
    assert result["connected"] is True
    assert result["plugs"][plug.id]["info"]["mac"] == plug.mac
    assert result["plugs"][plug.id]["telemetry"]["relay"] is True

    device = device_of(hass, plug.id)
    assert device is not None
    one = await get_diagnostics_for_device(hass, hass_client, entry, device)
    assert list(one["plugs"]) == [plug.id]


async def test_options_send_defaults_and_ignore_plugs(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    first, second = sim.plugs
    result = await open_plug_settings(hass, entry)
    assert result["step_id"] == "settings"
    options = result["data_schema"].schema[CONF_IGNORED_PLUGS].config["options"]
    assert {o["value"] for o in options} == {first.id, second.id}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 5.0, CONF_DEADBAND: 20.0, CONF_IGNORED_PLUGS: []}
    )
    assert result["type"] == "create_entry"
    assert entry.options == {CONF_INTERVAL: 5, CONF_DEADBAND: 20.0, CONF_IGNORED_PLUGS: []}
    # Sent to every plug at once, no reload.
    await wait_until(hass, lambda: all(pl.state.interval == 5 for pl in sim.plugs))
    assert all(pl.state.deadband == 20.0 for pl in sim.plugs)

    # A plug new to this installation gets the defaults as it appears.
    async with Simulator(sim_config(mosquitto, count=1, seed=9)) as newcomer:
        await wait_until(hass, lambda: newcomer.plugs[0].state.interval == 5)

    # A device shared with another integration's identifier is listed only by its plug id.
    shared = device_of(hass, first.id)
    assert shared is not None
    dr.async_get(hass).async_update_device(
        shared.id, new_identifiers={*shared.identifiers, ("other_domain", "x")}
    )
    result = await open_plug_settings(hass, entry)
    options = result["data_schema"].schema[CONF_IGNORED_PLUGS].config["options"]
    assert {o["value"] for o in options} == {first.id, second.id, newcomer.plugs[0].id}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_IGNORED_PLUGS: [second.id]}
    )
    assert entry.options == {CONF_IGNORED_PLUGS: [second.id]}
    await wait_until(
        hass, lambda: entry.state is ConfigEntryState.LOADED and device_of(hass, second.id) is None
    )
    assert device_of(hass, first.id) is not None
    await sim.report(second.id)
    await sim.report(first.id)
    await wait_until(hass, lambda: first.id in entry.runtime_data.plugs)
    assert second.id not in entry.runtime_data.plugs

    # The ignored plug stays selectable so it can be taken back.
    result = await open_plug_settings(hass, entry)
    options = result["data_schema"].schema[CONF_IGNORED_PLUGS].config["options"]
    assert second.id in {o["value"] for o in options}


async def test_unsupported_protocol_raises_a_repair_issue(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    info = p.PlugInfo(
        "greennet-f00d00", "Future", "GreenNet Plug", "9.0", "", "02:00:00:F0:0D:00", "", 2
    )
    topic = f"greennet/{info.id}"
    issue_id = f"unsupported_protocol_{info.id}"
    async with Observer(mosquitto) as observer:
        await observer.publish(f"{topic}/status", "online", retain=True)
        await observer.publish(f"{topic}/info", p.encode_info(info), retain=True)
        await observer.publish(f"{topic}/relay", "ON", retain=True)
        await wait_until(
            hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
        )
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.translation_key == "unsupported_protocol"
        assert issue.translation_placeholders == {
            "plug": "Future",
            "plug_id": info.id,
            "version": "2",
            "supported": "1",
        }
        # Visible, but nothing guessed from its payloads.
        assert device_of(hass, info.id) is not None
        assert state_of(hass, "switch", info.id, "relay") == STATE_UNAVAILABLE
        assert entry.runtime_data.plugs[info.id].relay is None

        # Firmware updated to v1: the issue goes away and the plug works.
        v1 = replace(info, protocol=1)
        await observer.publish(f"{topic}/info", p.encode_info(v1), retain=True)
        await observer.publish(f"{topic}/relay", "ON", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", info.id, "relay") == STATE_ON)
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_entry_data_changes_do_not_resend_defaults_over_per_plug_settings(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    hass.config_entries.async_update_entry(entry, options={CONF_INTERVAL: 7})
    await wait_until(hass, lambda: plug.state.interval == 7)
    await entry.runtime_data.async_set_config(plug.id, p.ConfigCommand(interval=20))
    await wait_until(hass, lambda: plug.state.interval == 20)

    async with Observer(mosquitto, "greennet/+/config/set") as commands:
        # What reauth and reconfigure do before they reload the entry.
        hass.config_entries.async_update_entry(entry, data={**entry.data, "note": "rotated"})
        await hass.async_block_till_done()
        await sim.report(plug.id)  # a round trip through the broker afterwards
        await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "power") != "unknown")
        await commands.publish("greennet/greennet-ffffff/config/set", "{}")  # marker
        await commands.wait_for(lambda m: "ffffff" in m.topic)
    assert [m.topic for m in commands.messages] == ["greennet/greennet-ffffff/config/set"]
    assert plug.state.interval == 20
