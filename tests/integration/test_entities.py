"""Plugs become devices with push entities; commands round-trip through the real broker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNKNOWN,
    EntityCategory,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    EVENT_GREENNET,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import device_of, entity_id, state_of, wait_until

# The same specification through both transports: the integration's own client and HA's MQTT.
pytestmark = pytest.mark.parametrize("transport", [TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT])

FAKE_INFO = p.PlugInfo(
    id="greennet-abcdef",
    name="Mute plug",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="",
    mac="02:00:00:AB:CD:EF",
    ip="",
    protocol=1,
)


@pytest.mark.parametrize(
    ("key", "device_class", "unit", "state_class"),
    [
        ("power", SensorDeviceClass.POWER, "W", SensorStateClass.MEASUREMENT),
        ("voltage", SensorDeviceClass.VOLTAGE, "V", SensorStateClass.MEASUREMENT),
        ("current", SensorDeviceClass.CURRENT, "A", SensorStateClass.MEASUREMENT),
        ("energy", SensorDeviceClass.ENERGY, "kWh", SensorStateClass.TOTAL_INCREASING),
    ],
)
async def test_measurements_appear_with_units_and_classes(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    key: str,
    device_class: str,
    unit: str,
    state_class: str,
) -> None:
    plug = sim.plugs[0]
    plug.set_load(1150.0)
    await sim.report(plug.id)
    expected = getattr(plug, key) if key != "energy" else plug.state.energy
    precision = {"power": 1, "voltage": 2, "current": 3, "energy": 4}[key]
    await wait_until(
        hass,
        lambda: state_of(hass, "sensor", plug.id, key) == str(round(expected, precision)),
    )
    state = hass.states.get(entity_id(hass, "sensor", plug.id, key))
    assert state is not None
    assert state.attributes[ATTR_DEVICE_CLASS] == device_class
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == unit
    assert state.attributes["state_class"] == state_class


async def test_each_plug_is_a_device_with_its_identity(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[1]
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_ON)
    device = device_of(hass, plug.id)
    assert device is not None
    assert device.name == plug.name
    assert device.model == "GreenNet Plug (simulated)"
    assert device.manufacturer == "GreenNet"
    assert (device.sw_version, device.hw_version) == ("sim-1.0.0", "sim")
    assert (dr.CONNECTION_NETWORK_MAC, plug.mac.lower()) in device.connections
    assert device.configuration_url == "http://127.0.0.1/"
    assert len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)) == 2


async def test_diagnostic_sensors_are_disabled_by_default(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") is not None)
    registry = er.async_get(hass)
    for key in ("rssi", "last_restart"):
        reg = registry.async_get(entity_id(hass, "sensor", plug.id, key))
        assert reg is not None
        assert reg.entity_category is EntityCategory.DIAGNOSTIC
        assert reg.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    for platform, key in [("number", "max_power"), ("number", "interval"), ("select", "restore")]:
        reg = registry.async_get(entity_id(hass, platform, plug.id, key))
        assert reg is not None
        assert reg.entity_category is EntityCategory.CONFIG


async def test_rarely_changed_settings_are_disabled_by_default(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") is not None)
    registry = er.async_get(hass)
    # Set once per plug (or by the entry's defaults): no state, no listener until enabled.
    for platform, key in [("number", "interval"), ("number", "deadband"), ("select", "restore")]:
        reg = registry.async_get(entity_id(hass, platform, plug.id, key))
        assert reg is not None
        assert reg.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(reg.entity_id) is None
    # The protection limits stay at hand.
    for key in ("max_power", "max_current"):
        reg = registry.async_get(entity_id(hass, "number", plug.id, key))
        assert reg is not None
        assert reg.disabled_by is None
    for platform, key in [("sensor", "power"), ("switch", "relay"), ("event", "overload")]:
        reg = registry.async_get(entity_id(hass, platform, plug.id, key))
        assert reg is not None
        assert reg.has_entity_name


@pytest.mark.parametrize(
    ("platform", "key", "name"),
    [
        ("switch", "relay", "{device}"),  # the plug's main feature takes the device's name
        ("sensor", "power", "{device} Power"),  # names that only repeat the device class
        ("sensor", "voltage", "{device} Voltage"),
        ("sensor", "current", "{device} Current"),
        ("sensor", "energy", "{device} Energy"),
        ("number", "max_power", "{device} Maximum power"),
        ("event", "overload", "{device} Overload"),
    ],
)
async def test_entities_are_named_the_home_assistant_way(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, platform: str, key: str, name: str
) -> None:
    plug = sim.plugs[0]
    state = hass.states.get(entity_id(hass, platform, plug.id, key))
    assert state is not None
    assert state.attributes["friendly_name"] == name.format(device=plug.name)
    reg = er.async_get(hass).async_get(state.entity_id)
    assert reg is not None
    # Device-class names come from HA's own translations, not ours.
    assert (reg.translation_key is None) == (platform == "sensor")


async def test_diagnostic_sensors_report_once_enabled(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    registry = er.async_get(hass)
    for key in ("rssi", "last_restart"):
        registry.async_update_entity(entity_id(hass, "sensor", plug.id, key), disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "rssi") == STATE_UNKNOWN)
    await sim.step(plug.id, 3600)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "rssi") == str(plug.rssi))
    restarted = dt_util.parse_datetime(state_of(hass, "sensor", plug.id, "last_restart") or "")
    assert restarted is not None
    # The simulated plug lived an hour in no time: it booted an hour before its report.
    assert abs(dt_util.utcnow() - timedelta(hours=1) - restarted) < timedelta(seconds=5)


async def test_relay_switch_round_trips_through_the_broker(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    switch = entity_id(hass, "switch", plug.id, "relay")
    await wait_until(hass, lambda: hass.states.get(switch).state == STATE_ON)  # type: ignore[union-attr]
    state = hass.states.get(switch)
    assert state is not None
    assert state.attributes[ATTR_DEVICE_CLASS] == "outlet"

    async with Observer(mosquitto) as observer:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
        )
        # The action returns once the plug confirmed: no optimistic state, no waiting here.
        assert plug.state.relay is False
        assert hass.states.get(switch).state == STATE_OFF  # type: ignore[union-attr]
        command = await observer.wait_for(lambda m: m.topic.endswith("/relay/set"))
        assert (command.topic, command.payload, command.qos) == (
            f"greennet/{plug.id}/relay/set",
            b"OFF",
            1,
        )

        await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
        assert plug.state.relay is True
        assert hass.states.get(switch).state == STATE_ON  # type: ignore[union-attr]


async def test_relay_state_follows_the_plug_not_the_command(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    switch = entity_id(hass, "switch", plug.id, "relay")
    await wait_until(hass, lambda: hass.states.get(switch).state == STATE_ON)  # type: ignore[union-attr]
    await sim.press_button(plug.id)  # the plug changes state on its own
    await wait_until(hass, lambda: hass.states.get(switch).state == STATE_OFF)  # type: ignore[union-attr]


async def test_relay_action_fails_when_the_plug_does_not_confirm(
    hass: HomeAssistant, entry: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    # A plug that announces itself but never obeys (e.g. firmware hung after birth).
    mute = FAKE_INFO.id
    async with Observer(mosquitto) as observer:
        await observer.publish(f"greennet/{mute}/status", "online", retain=True)
        await observer.publish(f"greennet/{mute}/info", p.encode_info(FAKE_INFO), retain=True)
        await observer.publish(f"greennet/{mute}/relay", "ON", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", mute, "relay") == STATE_ON)
        hub = entry.runtime_data
        with pytest.raises(HomeAssistantError) as err:
            await hub.async_set_relay(mute, False, timeout=0.3)
        assert err.value.translation_key == "relay_not_confirmed"
        assert state_of(hass, "switch", mute, "relay") == STATE_ON  # nothing assumed

        with pytest.raises(HomeAssistantError) as err:
            await hub.async_set_relay("greennet-ffffff", False)
        assert err.value.translation_key == "unknown_plug"

        await observer.publish(f"greennet/{mute}/status", "offline", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", mute, "relay") == "unavailable")
        with pytest.raises(HomeAssistantError) as err:
            await hub.async_set_relay(mute, True)
        assert err.value.translation_key == "plug_offline"


def _numeric(state: str | None) -> float | None:
    """The state as a number, or None while it is unknown/unavailable."""
    try:
        return float(state) if state is not None else None
    except ValueError:
        return None


@pytest.mark.parametrize(
    ("key", "value", "check"),
    [
        ("max_power", 1500, lambda plug: plug.state.max_power == 1500),
        ("max_current", 6.5, lambda plug: plug.state.max_current == 6.5),
        ("interval", 30, lambda plug: plug.state.interval == 30),
        ("deadband", 25, lambda plug: plug.state.deadband == 25),
    ],
)
async def test_setting_numbers_reach_the_plug(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    key: str,
    value: float,
    check: Any,
) -> None:
    plug = sim.plugs[0]
    if key in ("interval", "deadband"):  # disabled by default
        er.async_get(hass).async_update_entity(
            entity_id(hass, "number", plug.id, key), disabled_by=None
        )
        await hass.config_entries.async_reload(entry.entry_id)
    await wait_until(hass, lambda: _numeric(state_of(hass, "number", plug.id, key)) is not None)
    number = entity_id(hass, "number", plug.id, key)
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: number, "value": value}, blocking=True
    )
    await wait_until(hass, lambda: check(plug))
    # The entity shows what the plug confirmed on its retained topic.
    await wait_until(hass, lambda: _numeric(state_of(hass, "number", plug.id, key)) == value)


async def test_restore_select_reaches_the_plug(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    select = entity_id(hass, "select", plug.id, "restore")
    er.async_get(hass).async_update_entity(select, disabled_by=None)  # disabled by default
    await hass.config_entries.async_reload(entry.entry_id)
    await wait_until(hass, lambda: state_of(hass, "select", plug.id, "restore") == "last")
    state = hass.states.get(select)
    assert state is not None
    assert state.attributes["options"] == ["off", "on", "last"]
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: select, "option": "off"}, blocking=True
    )
    await wait_until(hass, lambda: str(plug.state.restore) == "off")
    await wait_until(hass, lambda: state_of(hass, "select", plug.id, "restore") == "off")


async def test_overload_trip_fires_event_entity_bus_event_and_problem_sensor(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    problem = entity_id(hass, "binary_sensor", plug.id, "overload")
    event_entity = entity_id(hass, "event", plug.id, "overload")
    await wait_until(hass, lambda: hass.states.get(problem).state == STATE_OFF)  # type: ignore[union-attr]
    assert hass.states.get(problem).attributes[ATTR_DEVICE_CLASS] == (  # type: ignore[union-attr]
        BinarySensorDeviceClass.PROBLEM
    )
    assert hass.states.get(event_entity).state == STATE_UNKNOWN  # type: ignore[union-attr]
    bus: list[Event] = []
    hass.bus.async_listen(EVENT_GREENNET, bus.append)

    plug.set_load(2600)  # over the default 10 A (and 2300 W): current is checked first
    await sim.step(plug.id, 1)

    await wait_until(hass, lambda: hass.states.get(problem).state == STATE_ON)  # type: ignore[union-attr]
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == STATE_OFF)
    state = hass.states.get(event_entity)
    assert state is not None
    assert state.attributes["event_type"] == "overload_trip"
    assert state.attributes["reason"] == "current"
    assert state.attributes["current"] > 10
    assert state.attributes["power"] == pytest.approx(2600, abs=1)
    trips = [e for e in bus if e.data["type"] == "overload_trip"]
    assert len(trips) == 1
    device = device_of(hass, plug.id)
    assert device is not None
    assert trips[0].data["device_id"] == device.id
    assert trips[0].data["plug_id"] == plug.id
    assert trips[0].data["data"]["reason"] == "current"


async def test_button_press_fires_the_button_event(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[1]
    button = entity_id(hass, "event", plug.id, "button")
    await wait_until(hass, lambda: hass.states.get(button).state == STATE_UNKNOWN)  # type: ignore[union-attr]
    bus: list[Event] = []
    hass.bus.async_listen(EVENT_GREENNET, bus.append)
    await sim.press_button(plug.id)
    await wait_until(hass, lambda: hass.states.get(button).state != STATE_UNKNOWN)  # type: ignore[union-attr]
    state = hass.states.get(button)
    assert state is not None
    assert state.attributes["event_type"] == "single"
    assert state.attributes[ATTR_DEVICE_CLASS] == "button"
    assert [e.data["type"] for e in bus] == ["button"]
    # The overload event entity ignored it.
    assert state_of(hass, "event", plug.id, "overload") == STATE_UNKNOWN


async def test_energy_ignores_rounding_dips_but_follows_a_reset(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    plug.state.energy = 12.5
    await sim.report(plug.id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "energy") == "12.5")
    energy = entity_id(hass, "sensor", plug.id, "energy")
    seen: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: seen.append(e.data["new_state"].state) if e.data["entity_id"] == energy else None,
    )
    plug.state.energy = 12.4995  # rounding in the plug: not a meter reset
    await sim.report(plug.id)
    plug.state.energy = 12.6
    await sim.report(plug.id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "energy") == "12.6")
    assert seen[-1] == "12.6"
    assert "12.4995" not in seen
    plug.state.energy = 0.001  # a new meter (e.g. flash erased): HA sees the reset
    await sim.report(plug.id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "energy") == "0.001")


async def test_listener_api_sees_every_parsed_update(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    hub = entry.runtime_data
    seen: list[tuple[str, p.Channel]] = []
    remove = hub.async_add_listener(lambda update: seen.append((update.plug_id, update.channel)))
    plug = sim.plugs[0]
    await sim.report(plug.id)
    await wait_until(hass, lambda: (plug.id, p.Channel.TELEMETRY) in seen)
    remove()
    count = len(seen)
    await sim.report(plug.id)
    await wait_until(hass, lambda: hub.plugs[plug.id].telemetry is not None)
    assert len(seen) == count


async def test_unknown_button_action_reaches_the_bus_but_not_the_event_entity(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    bus: list[Event] = []
    hass.bus.async_listen(EVENT_GREENNET, bus.append)
    async with Observer(mosquitto) as observer:
        await observer.publish(
            f"greennet/{plug.id}/event", '{"type": "button", "action": "triple"}'
        )
        await wait_until(hass, lambda: len(bus) == 1)
    assert bus[0].data["data"] == {"action": "triple"}
    assert state_of(hass, "event", plug.id, "button") == STATE_UNKNOWN


async def test_late_listeners_hear_about_plugs_already_known(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    seen: list[str] = []
    remove = entry.runtime_data.async_add_new_plug_listener(lambda plug: seen.append(plug.id))
    assert sorted(seen) == sorted(pl.id for pl in sim.plugs)
    remove()


async def test_a_removed_entity_stops_listening_and_its_siblings_keep_reporting(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    hub = entry.runtime_data
    telemetry = (plug.id, p.Channel.TELEMETRY)
    listening = list(hub.listeners._channels[telemetry])
    power = entity_id(hass, "sensor", plug.id, "power")
    er.async_get(hass).async_remove(power)
    await hass.async_block_till_done()
    assert hass.states.get(power) is None
    # Only the removed sensor left its plug's registries; the others still hear reports.
    left = [e for e in listening if e not in hub.listeners._channels[telemetry]]
    assert [e.entity_id for e in left] == [power]  # type: ignore[attr-defined]
    assert all(power != e.entity_id for e in hub.listeners._entities[plug.id])  # type: ignore[attr-defined]
    await sim.step(plug.id, 60)
    voltage = entity_id(hass, "sensor", plug.id, "voltage")
    await wait_until(
        hass, lambda: _numeric(state_of(hass, "sensor", plug.id, "voltage")) is not None
    )
    assert hass.states.get(power) is None
    assert hass.states.get(voltage) is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert hub.listeners._channels == {}
    assert hub.listeners._entities == {}
