"""Static checks: manifest, HACS file, translations and icons cover everything the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from custom_components.greennet.binary_sensor import BINARY_SENSORS
from custom_components.greennet.event import EVENTS
from custom_components.greennet.number import NUMBERS
from custom_components.greennet.select import SELECTS
from custom_components.greennet.sensor import SENSORS
from custom_components.greennet.switch import SWITCHES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "custom_components" / "greennet"
EN = json.loads((PACKAGE / "translations" / "en.json").read_text())
ICONS = json.loads((PACKAGE / "icons.json").read_text())
DESCRIPTIONS = {
    "binary_sensor": BINARY_SENSORS,
    "event": EVENTS,
    "number": NUMBERS,
    "select": SELECTS,
    "sensor": SENSORS,
    "switch": SWITCHES,
}


def source(*names: str) -> str:
    return "\n".join((PACKAGE / name).read_text() for name in names)


def test_manifest_is_sorted_pinned_and_complete() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "greennet"
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "local_push"
    assert manifest["zeroconf"] == ["_greennet._tcp.local."]
    assert manifest["mqtt"] == ["greennet/+/info"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    for key in ("codeowners", "documentation", "issue_tracker"):
        assert manifest[key]
    pins = (ROOT / "requirements-test.txt").read_text()
    for requirement in manifest["requirements"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", requirement)
        assert requirement in pins.splitlines(), f"{requirement} differs from the test pins"


def test_hacs_file_names_the_minimum_home_assistant() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "GreenNet"
    assert re.fullmatch(r"20\d\d\.\d+\.\d+", hacs["homeassistant"])


@pytest.mark.parametrize(("name", "min_size"), [("icon.png", 256), ("logo.png", 128)])
def test_brand_images(name: str, min_size: int) -> None:
    with Image.open(PACKAGE / "brand" / name) as image:
        assert image.format == "PNG"
        if name == "icon.png":
            assert image.size == (256, 256)
        assert min(image.size) >= min_size


@pytest.mark.parametrize("platform", sorted(DESCRIPTIONS))
def test_every_entity_has_a_name_and_icon_translation(platform: str) -> None:
    names = EN["entity"].get(platform, {})
    keys = set()
    for description in DESCRIPTIONS[platform]:
        key = description.translation_key
        if description.name is None:  # the main feature: named after the device
            assert key is None or key not in names or "name" not in names[key]
        elif key is None:  # named after its device class by Home Assistant
            assert description.device_class is not None, description.key
        else:
            assert names[key]["name"], f"{platform}.{key} has no name"
        keys.add(key)
    for key in ICONS["entity"].get(platform, {}):
        assert key in keys, f"icon for unknown {platform}.{key}"


def test_select_options_and_event_types_are_translated() -> None:
    for description in SELECTS:
        states = EN["entity"]["select"][description.translation_key]["state"]
        assert set(description.options or []) == set(states)
    for description in EVENTS:
        attrs = EN["entity"]["event"][description.translation_key]["state_attributes"]
        assert set(description.event_types or []) == set(attrs["event_type"]["state"])


def test_every_flow_error_abort_and_exception_is_translated() -> None:
    flow = source("config_flow.py")
    errors = set(re.findall(r'return "(\w+)"', flow))
    aborts = set(re.findall(r'reason="(\w+)"', flow)) | {"reauth_successful"}
    aborts |= {"already_configured", "reconfigure_successful"}
    steps = set(re.findall(r'step_id="(\w+)"', flow))
    assert errors <= set(EN["config"]["error"])
    assert aborts <= set(EN["config"]["abort"])
    assert steps - {"init"} <= set(EN["config"]["step"])
    assert "init" in EN["options"]["step"]
    used = set(
        re.findall(
            r'translation_key="(\w+)"',
            source("hub.py", "__init__.py", "device_trigger.py", "device_condition.py"),
        )
    )
    used |= set(re.findall(r'"(no_\w+)"', source("device_condition.py")))
    assert used
    assert used <= set(EN["exceptions"])
    assert set(re.findall(r"translation_key=(ISSUE_\w+)", source("issues.py"))) == {
        "ISSUE_UNSUPPORTED_PROTOCOL"
    }
    assert "unsupported_protocol" in EN["issues"]


def test_options_fields_are_described() -> None:
    step = EN["options"]["step"]["init"]
    assert set(step["data"]) == set(step["data_description"])
    for name, step in EN["config"]["step"].items():
        assert set(step.get("data", {})) == set(step.get("data_description", {})), name
