"""Helpers for device automation tests: automations that record which one ran."""

from __future__ import annotations

from typing import Any

from greennet_sim import Simulator
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.greennet.const import DOMAIN

from .conftest import state_of, wait_until

# Fires the automations whose trigger is CHECK (they then test their conditions).
CHECK = {"trigger": "event", "event_type": "check"}


def trigger(device_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    """A GreenNet device trigger, as the automation editor writes it."""
    return {"platform": "device", "domain": DOMAIN, "device_id": device_id, "type": kind, **extra}


def condition(device_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    """A GreenNet device condition, as the automation editor writes it."""
    return {"condition": "device", "domain": DOMAIN, "device_id": device_id, "type": kind, **extra}


async def automate(hass: HomeAssistant, *automations: dict[str, Any]) -> list[ServiceCall]:
    """Set up automations whose action calls test.automation with the trigger id."""
    calls = async_mock_service(hass, "test", "automation")
    config = [
        {
            "alias": f"a{i}",
            "triggers": [a["trigger"]],
            "conditions": a.get("conditions", []),
            "actions": [{"action": "test.automation", "data": {"which": a["id"]}}],
        }
        for i, a in enumerate(automations)
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()
    return calls


def fired(calls: list[ServiceCall]) -> list[str]:
    """Ids of the automations that ran, in order."""
    return [c.data["which"] for c in calls]


async def set_power(hass: HomeAssistant, sim: Simulator, plug_id: str, watts: float) -> None:
    """Load the simulated plug, let it report, and wait until HA shows the power."""
    sim.plug(plug_id).set_load(watts)
    await sim.report(plug_id)
    await wait_until(hass, lambda: state_of(hass, "sensor", plug_id, "power") == str(float(watts)))
