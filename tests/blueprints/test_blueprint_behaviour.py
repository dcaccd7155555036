"""Blueprints instantiated against GreenNet entities fed by the simulator over Mosquitto.

Time moves with the harness's `async_fire_time_changed` (measured from the moment each
timer was set); every test asserts the notifications and relay commands that happen and
those that must not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.greennet import protocol as p

from ..broker import Mosquitto
from ..integration.conftest import entity_id, state_of
from ..mqtt_observer import Observer

pytestmark = pytest.mark.usefixtures("entry", "blueprint_dir")


@pytest.fixture(autouse=True)
async def stop_automations(hass: HomeAssistant) -> AsyncIterator[None]:
    """Stop blueprint runs still parked in a wait, so no timer outlives the test."""
    yield
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )


NOTIFY = [
    {
        "action": "test.notify",
        "data": {"title": "{{ title | default('') }}", "message": "{{ message }}"},
    }
]


async def use_blueprint(
    hass: HomeAssistant, name: str, inputs: dict[str, Any]
) -> list[ServiceCall]:
    """One automation from a blueprint; returns the recorded test.notify calls."""
    calls = async_mock_service(hass, "test", "notify")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": "bp",
                    "use_blueprint": {
                        "path": f"greennet/{name}",
                        "input": {"notify_action": NOTIFY, **inputs},
                    },
                }
            ]
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.bp")
    assert state is not None
    assert state.state == "on"
    return calls


async def settle() -> None:
    """Let callbacks and tasks run. Not hass.async_block_till_done(): a blueprint run
    parked in `wait_for_trigger` is a task that would block it for a simulated day."""
    for _ in range(10):
        await asyncio.sleep(0.005)


async def wait_until(hass: HomeAssistant, predicate: Callable[[], bool], wait: float = 5.0) -> None:
    """Poll until `predicate` holds; fail the test after `wait` seconds."""
    async with asyncio.timeout(wait):
        while not predicate():  # noqa: ASYNC110 - HA state has no event to await here
            await asyncio.sleep(0.01)


async def set_power(hass: HomeAssistant, sim: Simulator, plug_id: str, watts: float) -> None:
    sim.plug(plug_id).set_load(watts)
    await sim.report(plug_id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug_id, "power") == str(float(watts)))


async def later(hass: HomeAssistant, **delta: float) -> None:
    """Run the timers that would be due `delta` after they were set (e.g. a trigger's `for`)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(**delta))
    await settle()


def pretend_last_run_was(hass: HomeAssistant, entity_id: str, ago: timedelta) -> None:
    """Age the automation's `last_triggered`, which the blueprint's cool-down reads."""
    state = hass.states.get(entity_id)
    assert state is not None
    attributes = {**state.attributes, "last_triggered": dt_util.utcnow() - ago}
    hass.states.async_set(entity_id, state.state, attributes)


async def test_power_threshold_notifies_once_per_cooldown(
    hass: HomeAssistant, sim: Simulator
) -> None:
    plug = sim.plugs[0].id
    await set_power(hass, sim, plug, 100)
    calls = await use_blueprint(
        hass,
        "power_threshold_notify.yaml",
        {
            "power_sensor": entity_id(hass, "sensor", plug, "power"),
            "threshold": 1000,
            "duration": 5,
            "cooldown": 30,
            "persistent": False,
        },
    )

    await set_power(hass, sim, plug, 900)  # below the threshold
    await later(hass, minutes=10)
    assert calls == []

    await set_power(hass, sim, plug, 1500)
    await later(hass, minutes=4)
    assert calls == []  # not yet five minutes
    await later(hass, minutes=5, seconds=1)
    assert len(calls) == 1
    assert "more than 1000 W for 5 min" in calls[0].data["message"]

    await set_power(hass, sim, plug, 200)
    await set_power(hass, sim, plug, 1500)
    await later(hass, minutes=6)
    assert len(calls) == 1  # within the cool-down

    pretend_last_run_was(hass, "automation.bp", timedelta(minutes=31))
    await set_power(hass, sim, plug, 200)
    await set_power(hass, sim, plug, 1500)
    await later(hass, minutes=6)
    assert len(calls) == 2


async def test_appliance_finished_reports_energy_of_the_run(
    hass: HomeAssistant, sim: Simulator
) -> None:
    plug = sim.plugs[0].id
    await set_power(hass, sim, plug, 0.5)
    calls = await use_blueprint(
        hass,
        "appliance_finished.yaml",
        {
            "power_sensor": entity_id(hass, "sensor", plug, "power"),
            "energy_sensor": entity_id(hass, "sensor", plug, "energy"),
            "running_threshold": 10,
            "idle_threshold": 3,
            "idle_minutes": 5,
            "persistent": False,
        },
    )
    start = float(state_of(hass, "sensor", plug, "energy") or 0)

    await set_power(hass, sim, plug, 500)  # the programme starts
    await sim.step(plug, 3600)  # one hour at 500 W: +0.5 kWh
    await wait_until(
        hass, lambda: float(state_of(hass, "sensor", plug, "energy") or 0) >= start + 0.49
    )
    await set_power(hass, sim, plug, 1)  # a pause between phases…
    await later(hass, minutes=2)
    await set_power(hass, sim, plug, 300)  # …is not the end
    await later(hass, minutes=10)
    assert calls == []

    await set_power(hass, sim, plug, 1)
    await later(hass, minutes=5, seconds=1)
    assert len(calls) == 1
    assert "This run used 0.5 kWh" in calls[0].data["message"]


async def test_standby_killer_switches_off_only_when_on_and_idle(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0].id
    await set_power(hass, sim, plug, 60)
    await use_blueprint(
        hass,
        "standby_killer.yaml",
        {
            "power_sensor": entity_id(hass, "sensor", plug, "power"),
            "relay": entity_id(hass, "switch", plug, "relay"),
            "threshold": 5,
            "minutes": 15,
        },
    )
    async with Observer(mosquitto, f"greennet/{plug}/relay/set") as commands:
        await set_power(hass, sim, plug, 10)  # above standby
        await later(hass, minutes=20)
        await set_power(hass, sim, plug, 2)
        await later(hass, minutes=14)
        assert commands.messages == []
        assert sim.plug(plug).state.relay is True

        await later(hass, minutes=15, seconds=1)
        await commands.wait_for(lambda m: m.payload == b"OFF")
        await wait_until(hass, lambda: state_of(hass, "switch", plug, "relay") == "off")
        assert sim.plug(plug).state.relay is False  # the real plug obeyed

        # Relay already off (power 0 < 5 W for long): no further command.
        await sim.report(plug)
        await later(hass, minutes=30)
        assert len(commands.messages) == 1


async def test_overload_cutoff_switches_off_at_once_and_notifies(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0].id
    await set_power(hass, sim, plug, 100)
    calls = await use_blueprint(
        hass,
        "overload_cutoff.yaml",
        {
            "power_sensor": entity_id(hass, "sensor", plug, "power"),
            "relay": entity_id(hass, "switch", plug, "relay"),
            "limit": 1000,
            "persistent": False,
        },
    )
    await set_power(hass, sim, plug, 900)
    assert calls == []
    sim.plug(plug).set_load(1500)  # below the plug's own 2300 W protection
    await sim.report(plug)
    await wait_until(hass, lambda: state_of(hass, "switch", plug, "relay") == "off")
    assert sim.plug(plug).state.relay is False
    assert sim.plug(plug).tripped is False  # HA acted, not the plug's protection
    await wait_until(hass, lambda: len(calls) == 1)
    assert "above the 1000 W limit" in calls[0].data["message"]


async def test_plug_offline_and_back_online_notifications(
    hass: HomeAssistant, sim: Simulator, mosquitto: Mosquitto
) -> None:
    plug = sim.plugs[0].id
    relay = entity_id(hass, "switch", plug, "relay")
    calls = await use_blueprint(
        hass,
        "plug_offline_notify.yaml",
        {"plug_entity": relay, "minutes": 5, "notify_back_online": True, "persistent": False},
    )
    status = p.topic("greennet", plug, p.Channel.STATUS)
    async with Observer(mosquitto) as obs:
        # A blip shorter than five minutes: no notification either way.
        await obs.publish(status, "offline", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", plug, "relay") == "unavailable")
        await later(hass, minutes=2)
        await obs.publish(status, "online", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", plug, "relay") != "unavailable")
        await settle()
        assert calls == []

        await obs.publish(status, "offline", retain=True)
        await wait_until(hass, lambda: state_of(hass, "switch", plug, "relay") == "unavailable")
        await later(hass, minutes=5, seconds=1)
        assert [c.data["title"] for c in calls] == [f"{hass.states.get(relay).name}: offline"]

        await later(hass, minutes=10)
        await obs.publish(status, "online", retain=True)
        await wait_until(hass, lambda: len(calls) == 2)
        assert "back online" in calls[1].data["message"]


def test_blueprint_dir_fixture_is_used(blueprint_dir: Path) -> None:
    assert (blueprint_dir / "standby_killer.yaml").exists()
