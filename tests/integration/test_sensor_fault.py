"""A plug's `sensor_fault` event (its meter stopped giving readings, the relay opened)
reaches Home Assistant as an event entity and a device trigger (real broker)."""

from __future__ import annotations

from greennet_sim import Simulator
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.greennet import protocol as p
from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import device_of, entity_id, state_of, wait_until


async def test_sensor_fault_fires_its_event_entity_and_device_trigger(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    calls = async_mock_service(hass, "test", "automation")
    device_trigger = {"platform": "device", "domain": DOMAIN, "device_id": device.id}
    automation = {
        "triggers": [{**device_trigger, "type": "sensor_fault"}],
        "actions": [{"action": "test.automation"}],
    }
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    fault_entity = entity_id(hass, "event", plug.id, "sensor_fault")
    await wait_until(hass, lambda: hass.states.get(fault_entity) is not None)
    assert state_of(hass, "event", plug.id, "sensor_fault") == STATE_UNKNOWN

    event = p.PlugEvent(p.EventType.SENSOR_FAULT, {"seconds": 5})
    async with Observer(mosquitto) as observer:
        await observer.publish(f"greennet/{plug.id}/event", p.encode_event(event))
        await wait_until(hass, lambda: len(calls) == 1)

    state = hass.states.get(fault_entity)
    assert state is not None
    assert state.attributes["event_type"] == "sensor_fault"
    assert state.attributes["seconds"] == 5
    # Not an overload: the overload event entity stays as it was.
    assert state_of(hass, "event", plug.id, "overload") == STATE_UNKNOWN
