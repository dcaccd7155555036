"""What Home Assistant showed before it restarted carries over where the plug cannot know it."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.greennet import protocol as p
from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import entry_data, state_of, wait_until

PLUG = p.PlugInfo(
    id="greennet-4e4e4e",
    name="Kettle",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="",
    mac="02:00:00:4E:4E:4E",
    ip="",
    protocol=1,
)


def report(energy: float) -> str:
    """A telemetry payload with this lifetime energy."""
    return p.encode_telemetry(
        p.Telemetry(voltage=230.0, current=0.0, power=0.0, energy=energy, relay=True)
    )


@pytest.fixture
def energy_before_restart(hass: HomeAssistant) -> str:
    """The kettle's energy sensor as the previous Home Assistant run left it: 12.5 kWh."""
    registry = er.async_get(hass)
    entity = registry.async_get_or_create(
        "sensor", DOMAIN, f"{PLUG.id}_energy", suggested_object_id="kettle_energy"
    )
    mock_restore_cache_with_extra_data(
        hass,
        (
            (
                State(entity.entity_id, "12.5"),
                {"native_value": 12.5, "native_unit_of_measurement": "kWh"},
            ),
        ),
    )
    return entity.entity_id


async def test_energy_dip_after_an_ha_restart_is_not_a_meter_reset(
    hass: HomeAssistant, mosquitto: Mosquitto, energy_before_restart: str
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    topic = f"greennet/{PLUG.id}"
    async with Observer(mosquitto) as plug:
        await plug.publish(f"{topic}/status", "online", retain=True)
        await plug.publish(f"{topic}/info", p.encode_info(PLUG), retain=True)
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "energy") == "12.5")

        # After a power cut the plug's meter is a rounding step behind what HA showed.
        await plug.publish(f"{topic}/telemetry", report(12.495))
        hub = entry.runtime_data
        await wait_until(hass, lambda: hub.plugs[PLUG.id].telemetry is not None)
        assert state_of(hass, "sensor", PLUG.id, "energy") == "12.5"

        await plug.publish(f"{topic}/telemetry", report(12.6))
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "energy") == "12.6")
        # A real meter reset (flash erased) still reaches the Energy dashboard.
        await plug.publish(f"{topic}/telemetry", report(0.001))
        await wait_until(hass, lambda: state_of(hass, "sensor", PLUG.id, "energy") == "0.001")
    assert await hass.config_entries.async_unload(entry.entry_id)
