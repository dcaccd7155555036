"""Protection limit numbers offer the range the plug accepts, not the contract's 100 A / 25 kW."""

from __future__ import annotations

import json
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.const import DEFAULT_CURRENT_CEILING, DEFAULT_POWER_CEILING

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import entity_id, wait_until


def _top(hass: HomeAssistant, plug_id: str, key: str) -> Any:
    state = hass.states.get(entity_id(hass, "number", plug_id, key))
    return None if state is None else state.attributes.get("max")


def _tops(hass: HomeAssistant, plug_id: str) -> tuple[Any, Any]:
    return (_top(hass, plug_id, "max_current"), _top(hass, plug_id, "max_power"))


async def _publish_protection(broker: Mosquitto, plug_id: str, **doc: Any) -> None:
    async with Observer(broker) as observer:
        topic = f"greennet/{plug_id}/protection"
        await observer.publish(topic, json.dumps({"tripped": False, **doc}), retain=True)


async def test_limit_numbers_end_at_the_ceilings_the_plug_reports(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    # The simulated plug meters up to 16 A / 3680 W and says so.
    await wait_until(hass, lambda: _tops(hass, plug.id) == (16.0, 3680.0))
    # A plug with the GreenNet firmware's meter (0.95 x 3.2 A, 0.95 x 26 V x 3.2 A).
    await _publish_protection(
        mosquitto,
        plug.id,
        max_current=3.0,
        max_power=70,
        current_ceiling=3.04,
        power_ceiling=79,
    )
    await wait_until(hass, lambda: _tops(hass, plug.id) == (3.04, 79.0))
    # Home Assistant refuses more before anything is sent to the plug.
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number",
            "set_value",
            {ATTR_ENTITY_ID: entity_id(hass, "number", plug.id, "max_current"), "value": 12},
            blocking=True,
        )
    assert plug.state.max_current == 10.0  # the simulated plug's own setting, untouched


async def test_limit_numbers_of_a_plug_without_ceilings_use_a_socket_sized_default(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    await wait_until(hass, lambda: _tops(hass, plug.id)[0] is not None)
    await _publish_protection(mosquitto, plug.id, max_current=10, max_power=2300)
    await wait_until(
        hass, lambda: _tops(hass, plug.id) == (DEFAULT_CURRENT_CEILING, DEFAULT_POWER_CEILING)
    )
    assert (DEFAULT_CURRENT_CEILING, DEFAULT_POWER_CEILING) == (16.0, 3680.0)
    # A limit in use above the default stays inside the range.
    await _publish_protection(mosquitto, plug.id, max_current=20, max_power=5000)
    await wait_until(hass, lambda: _tops(hass, plug.id) == (20.0, 5000.0))
