"""Device automations at their edges: no threshold, no reading, no plug any more."""

from __future__ import annotations

from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import condition as ha_condition
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.greennet import device_trigger
from custom_components.greennet import protocol as p
from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .automations import CHECK, automate, condition, fired, set_power, trigger
from .conftest import device_of, state_of, wait_until

pytestmark = pytest.mark.usefixtures("entry")


async def check(hass: HomeAssistant) -> None:
    """Fire the event the CHECK automations listen to, and let them run."""
    hass.bus.async_fire("check")
    await hass.async_block_till_done()


async def holds(hass: HomeAssistant, config: dict[str, Any]) -> bool | None:
    """Evaluate a condition the way HA's condition helper does; a crash raises here.

    (An automation swallows a crashing condition without a log line: it just does not run.)
    """
    checker = await ha_condition.async_from_config(
        hass, await ha_condition.async_validate_condition_config(hass, config)
    )
    return checker(hass)


@pytest.mark.parametrize("kind", ["power_above", "power_below"])
@pytest.mark.parametrize("where", ["trigger", "condition"])
async def test_a_power_automation_without_its_threshold_is_rejected(
    hass: HomeAssistant, sim: Simulator, caplog: pytest.LogCaptureFixture, kind: str, where: str
) -> None:
    device = device_of(hass, sim.plugs[0].id)
    assert device is not None
    if where == "trigger":
        automation = {"id": "bad", "trigger": trigger(device.id, kind)}
    else:
        automation = {"id": "bad", "trigger": CHECK, "conditions": [condition(device.id, kind)]}
    calls = await automate(hass, automation)
    threshold = "above" if kind == "power_above" else "below"
    assert f"{kind} needs '{threshold}' (W)" in caplog.text
    state = hass.states.get("automation.a0")
    assert state is not None
    assert state.state == "unavailable"
    await check(hass)
    assert fired(calls) == []


async def test_the_automation_editor_asks_a_threshold_only_of_power_conditions(
    hass: HomeAssistant, sim: Simulator, hass_ws_client: WebSocketGenerator
) -> None:
    assert await async_setup_component(hass, "device_automation", {})
    client = await hass_ws_client(hass)
    device = device_of(hass, sim.plugs[0].id)
    assert device is not None

    async def fields(kind: str) -> list[dict[str, Any]]:
        await client.send_json_auto_id(
            {
                "type": "device_automation/condition/capabilities",
                "condition": condition(device.id, kind),
            }
        )
        response = await client.receive_json()
        assert response["success"], response
        extra: list[dict[str, Any]] = response["result"].get("extra_fields", [])
        return extra

    assert await fields("power_above") == [{"name": "above", "required": True, "type": "float"}]
    assert await fields("power_below") == [{"name": "below", "required": True, "type": "float"}]
    assert await fields("relay_on") == []
    assert await fields("relay_off") == []


async def test_power_conditions_hold_neither_way_while_the_plug_is_unavailable(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    await set_power(hass, sim, plug.id, 800)
    calls = await automate(
        hass,
        {
            "id": "above",
            "trigger": CHECK,
            "conditions": [condition(device.id, "power_above", above=500)],
        },
        {
            "id": "below",
            "trigger": CHECK,
            "conditions": [condition(device.id, "power_below", below=500)],
        },
    )
    await check(hass)
    assert fired(calls) == ["above"]

    above = condition(device.id, "power_above", above=500)
    below = condition(device.id, "power_below", below=500)
    calls.clear()
    async with Observer(mosquitto) as obs:
        await obs.publish(p.topic("greennet", plug.id, p.Channel.STATUS), "offline", retain=True)
        await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "power") == "unavailable")
    await check(hass)
    assert fired(calls) == []  # no reading is neither above nor below any threshold
    assert await holds(hass, above) is False
    assert await holds(hass, below) is False


async def test_device_conditions_stop_holding_once_the_plug_is_gone(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    await set_power(hass, sim, plug.id, 800)
    calls = await automate(
        hass,
        {"id": "relay_on", "trigger": CHECK, "conditions": [condition(device.id, "relay_on")]},
        {
            "id": "above",
            "trigger": CHECK,
            "conditions": [condition(device.id, "power_above", above=5)],
        },
    )
    await check(hass)
    assert sorted(fired(calls)) == ["above", "relay_on"]

    # The user deletes the GreenNet entry; automations naming its plugs stay loaded.
    relay_on = await ha_condition.async_from_config(
        hass,
        await ha_condition.async_validate_condition_config(hass, condition(device.id, "relay_on")),
    )
    calls.clear()
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert device_of(hass, plug.id) is None
    await check(hass)
    assert fired(calls) == []
    assert relay_on(hass) is False  # a condition that cannot hold, not a crashing one


async def test_a_plug_without_a_power_sensor_offers_no_power_automations(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    # A plug that never announced itself fully: its device exists, its entities do not.
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "greennet-e0e0e1")}
    )
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    offered = {t["type"] for t in triggers if t["domain"] == DOMAIN}
    assert offered == set(device_trigger.EVENT_TRIGGERS)
    conditions = await async_get_device_automations(hass, DeviceAutomationType.CONDITION, device.id)
    assert [c for c in conditions if c["domain"] == DOMAIN] == []
