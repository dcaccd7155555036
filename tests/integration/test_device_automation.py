"""Device triggers and conditions fire/hold exactly when the plug says so (real broker)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
)

from custom_components.greennet import device_condition, device_trigger
from custom_components.greennet import protocol as p
from custom_components.greennet.const import DOMAIN

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .automations import automate, fired, set_power, trigger
from .conftest import device_of, entity_id, state_of, wait_until

pytestmark = pytest.mark.usefixtures("entry")


async def test_every_trigger_type_is_offered(hass: HomeAssistant, sim: Simulator) -> None:
    device = device_of(hass, sim.plugs[0].id)
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == {
        "power_above",
        "power_below",
        "went_offline",
        "came_online",
        "overload_tripped",
        "sensor_fault",
        "button_pressed",
    }
    conditions = await async_get_device_automations(hass, DeviceAutomationType.CONDITION, device.id)
    assert {c["type"] for c in conditions if c["domain"] == DOMAIN} == {
        "relay_on",
        "relay_off",
        "power_above",
        "power_below",
    }
    caps = await device_trigger.async_get_trigger_capabilities(
        hass, trigger(device.id, "power_above")
    )
    assert {str(k) for k in caps["extra_fields"].schema} == {"above", "for"}
    assert (
        await device_trigger.async_get_trigger_capabilities(
            hass, trigger(device.id, "button_pressed")
        )
        == {}
    )
    caps = await device_condition.async_get_condition_capabilities(
        hass,
        {"condition": "device", "domain": DOMAIN, "device_id": device.id, "type": "power_below"},
    )
    assert {str(k) for k in caps["extra_fields"].schema} == {"below"}


@pytest.mark.parametrize("transport", ["aiomqtt", "ha_mqtt"])
async def test_power_triggers_respect_threshold_and_duration(
    hass: HomeAssistant, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    await set_power(hass, sim, plug.id, 100)
    calls = await automate(
        hass,
        {
            "id": "above",
            "trigger": trigger(device.id, "power_above", above=1000, **{"for": {"seconds": 30}}),
        },
        {"id": "below", "trigger": trigger(device.id, "power_below", below=50)},
    )
    await set_power(hass, sim, plug.id, 900)  # below the threshold: nothing
    await set_power(hass, sim, plug.id, 1500)
    assert fired(calls) == []  # above, but not yet for 30 s
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert fired(calls) == ["above"]

    await set_power(hass, sim, plug.id, 1600)  # still above: no second firing
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=62))
    await hass.async_block_till_done()
    assert fired(calls) == ["above"]

    await set_power(hass, sim, plug.id, 20)
    assert fired(calls) == ["above", "below"]


async def test_short_spike_does_not_fire_a_duration_trigger(
    hass: HomeAssistant, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    await set_power(hass, sim, plug.id, 100)
    calls = await automate(
        hass,
        {
            "id": "above",
            "trigger": trigger(device.id, "power_above", above=1000, **{"for": {"minutes": 1}}),
        },
    )
    await set_power(hass, sim, plug.id, 1500)
    await set_power(hass, sim, plug.id, 200)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done()
    assert fired(calls) == []


async def test_offline_online_trip_and_button_triggers(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug, other = sim.plugs
    device = device_of(hass, plug.id)
    assert device is not None
    calls = await automate(
        hass,
        *(
            {"id": kind, "trigger": trigger(device.id, kind)}
            for kind in ("went_offline", "came_online", "overload_tripped", "button_pressed")
        ),
    )
    plug.set_load(5000)
    await sim.step(plug.id, 1)
    await wait_until(hass, lambda: "overload_tripped" in fired(calls))

    await sim.press_button(plug.id)
    await sim.press_button(other.id)  # another plug's button is not ours
    await wait_until(hass, lambda: "button_pressed" in fired(calls))

    status = p.topic("greennet", plug.id, p.Channel.STATUS)
    async with Observer(mosquitto) as obs:
        await obs.publish(status, "offline", retain=True)  # as the broker's last will would
        await wait_until(hass, lambda: "went_offline" in fired(calls))
        await obs.publish(status, "online", retain=True)
        await wait_until(hass, lambda: "came_online" in fired(calls))
    assert sorted(fired(calls)) == sorted(
        ["button_pressed", "overload_tripped", "went_offline", "came_online"]
    )


async def test_device_conditions_hold_exactly_when_expected(
    hass: HomeAssistant, sim: Simulator
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None

    def cond(kind: str, **extra: Any) -> dict[str, Any]:
        return {
            "condition": "device",
            "domain": DOMAIN,
            "device_id": device.id,
            "type": kind,
            **extra,
        }

    event = {"trigger": "event", "event_type": "check"}
    calls = await automate(
        hass,
        {"id": "relay_on", "trigger": event, "conditions": [cond("relay_on")]},
        {"id": "relay_off", "trigger": event, "conditions": [cond("relay_off")]},
        {"id": "above", "trigger": event, "conditions": [cond("power_above", above=500)]},
        {"id": "below", "trigger": event, "conditions": [cond("power_below", below=500)]},
    )
    await set_power(hass, sim, plug.id, 800)
    hass.bus.async_fire("check")
    await hass.async_block_till_done()
    assert sorted(fired(calls)) == ["above", "relay_on"]

    calls.clear()
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": entity_id(hass, "switch", plug.id, "relay")},
        blocking=True,
    )
    await sim.report(plug.id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "power") == "0.0")
    await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == "off")
    hass.bus.async_fire("check")
    await hass.async_block_till_done()
    assert sorted(fired(calls)) == ["below", "relay_off"]


async def test_trigger_for_a_removed_device_fails_with_ha_s_normal_error(
    hass: HomeAssistant, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    calls = await automate(
        hass, {"id": "ghost", "trigger": trigger("0123456789abcdef", "button_pressed")}
    )
    assert "Unknown device" in caplog.text
    assert "Traceback" not in caplog.text
    state = hass.states.get("automation.a0")
    assert state is not None
    assert state.state == "unavailable"
    assert fired(calls) == []


def test_every_trigger_and_condition_type_is_translated() -> None:
    import json
    from pathlib import Path

    strings = json.loads(
        (Path(device_trigger.__file__).parent / "translations" / "en.json").read_text()
    )["device_automation"]
    assert set(strings["trigger_type"]) == set(device_trigger.TRIGGER_TYPES)
    assert set(strings["condition_type"]) == set(device_condition.CONDITION_TYPES)
    assert {"above", "below", "for"} <= set(strings["extra_fields"])


async def test_relay_conditions_hold_neither_way_while_the_plug_is_unavailable(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0]
    device = device_of(hass, plug.id)
    assert device is not None
    base = {"condition": "device", "domain": DOMAIN, "device_id": device.id}
    event = {"trigger": "event", "event_type": "check"}
    calls = await automate(
        hass,
        {"id": "relay_on", "trigger": event, "conditions": [{**base, "type": "relay_on"}]},
        {"id": "relay_off", "trigger": event, "conditions": [{**base, "type": "relay_off"}]},
    )
    async with Observer(mosquitto) as obs:
        await obs.publish(p.topic("greennet", plug.id, p.Channel.STATUS), "offline", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", plug.id, "relay") == "unavailable")
    hass.bus.async_fire("check")
    await hass.async_block_till_done()
    assert fired(calls) == []  # an unreachable relay is neither on nor off


@pytest.mark.parametrize(
    ("validate", "kind", "extra", "what"),
    [
        (device_condition.async_validate_condition_config, "relay_on", {}, "relay switch"),
        (
            device_condition.async_validate_condition_config,
            "power_below",
            {"below": 5},
            "power sensor",
        ),
        (device_trigger.async_validate_trigger_config, "power_above", {"above": 5}, "power sensor"),
    ],
)
async def test_a_device_without_the_entity_is_refused_in_plain_translated_words(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    validate: Any,
    kind: str,
    extra: dict[str, Any],
    what: str,
) -> None:
    # A plug whose entities were removed (or never announced itself fully).
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "greennet-e0e0e0")}
    )
    key = (
        "condition" if validate is device_condition.async_validate_condition_config else "platform"
    )
    config = {key: "device", "domain": DOMAIN, "device_id": device.id, "type": kind, **extra}
    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await validate(hass, config)
    assert err.value.translation_domain == DOMAIN
    assert str(err.value) == f"Device {device.id} has no GreenNet {what}"  # HA drops the "."
