"""Every GreenNet blueprint is valid for Home Assistant's own blueprint integration."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component

from .conftest import BLUEPRINT_SRC, BLUEPRINTS

EXPECTED = {
    "appliance_finished.yaml",
    "overload_cutoff.yaml",
    "plug_offline_notify.yaml",
    "power_threshold_notify.yaml",
    "standby_killer.yaml",
}

# Minimal valid inputs per blueprint (entities need not exist to validate).
INPUTS: dict[str, dict[str, Any]] = {
    "appliance_finished.yaml": {
        "power_sensor": "sensor.washer_power",
        "energy_sensor": "sensor.washer_energy",
    },
    "overload_cutoff.yaml": {"power_sensor": "sensor.heater_power", "relay": "switch.heater"},
    "plug_offline_notify.yaml": {"plug_entity": "switch.heater"},
    "power_threshold_notify.yaml": {"power_sensor": "sensor.heater_power"},
    "standby_killer.yaml": {"power_sensor": "sensor.tv_power", "relay": "switch.tv"},
}


def test_the_five_blueprints_exist() -> None:
    assert set(BLUEPRINTS) == EXPECTED


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!input", lambda loader, node: f"!input {node.value}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_blueprint_metadata_is_complete(name: str) -> None:
    data = yaml.load((BLUEPRINT_SRC / name).read_text(), Loader=_Loader)  # noqa: S506
    meta = data["blueprint"]
    assert meta["domain"] == "automation"
    assert meta["source_url"].endswith(f"/blueprints/automation/greennet/{name}")
    assert meta["description"]
    for key, spec in meta["input"].items():
        assert spec.get("name"), key
        selector = spec["selector"]
        if "entity" in selector:
            filters = selector["entity"]["filter"]
            assert all(f["integration"] == "greennet" for f in filters), key
        else:
            assert "default" in spec, f"{name}: {key} needs a sensible default"


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_home_assistant_loads_blueprint_without_warnings(
    hass: HomeAssistant, blueprint_dir: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for entity_id in INPUTS[name].values():
        hass.states.async_set(entity_id, "on" if entity_id.startswith("switch") else "0")
    blueprint = await async_get_blueprints(hass).async_get_blueprint(f"greennet/{name}")
    assert blueprint.validate() is None  # HA's own min_version and schema check
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": f"test {name.removesuffix('.yaml')}",
                    "use_blueprint": {"path": f"greennet/{name}", "input": INPUTS[name]},
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(f"automation.test_{name.removesuffix('.yaml')}") is not None
    # asyncio's debug-mode "Executing … took 0.1 seconds" is the machine's load, not HA's verdict
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"]
    assert not problems, [r.getMessage() for r in problems]


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("power_threshold_notify.yaml", "threshold", -5),
        ("power_threshold_notify.yaml", "threshold", 100_000),
        ("power_threshold_notify.yaml", "cooldown", "soon"),
        ("power_threshold_notify.yaml", "power_sensor", "not an entity"),
        ("appliance_finished.yaml", "idle_minutes", 0),
        ("standby_killer.yaml", "threshold", 0),
        ("standby_killer.yaml", "window_start", "25:00"),
        ("overload_cutoff.yaml", "limit", 0),
        ("plug_offline_notify.yaml", "minutes", 0),
    ],
)
def test_out_of_range_inputs_are_rejected_by_the_selectors(name: str, key: str, value: Any) -> None:
    """HA validates inputs with these selectors (the UI uses the same bounds)."""
    data = yaml.load((BLUEPRINT_SRC / name).read_text(), Loader=_Loader)  # noqa: S506
    spec = data["blueprint"]["input"][key]
    validator = selector.selector(spec["selector"])
    if "default" in spec:
        validator(spec["default"])  # the default itself is valid
    if key in INPUTS[name]:
        validator(INPUTS[name][key])
    with pytest.raises(vol.Invalid):
        validator(value)
