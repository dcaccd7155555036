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
# Entities of the hub's own device (not described per plug): platform -> translation keys.
HUB_ENTITIES = {"binary_sensor": {"cloud_connected"}}
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
    for key in HUB_ENTITIES.get(platform, set()):
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
    assert steps - {"init", "settings"} <= set(EN["config"]["step"])
    assert {"init", "settings"} <= set(EN["options"]["step"])
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


def test_every_cloud_link_string_is_translated() -> None:
    flow = source("cloud/flow.py")
    aborts = set(re.findall(r'reason="(\w+)"', flow))
    steps = set(re.findall(r'step_id="(\w+)"', flow))
    errors = set(re.findall(r'"(cloud_\w+)"', flow)) - aborts - steps
    assert {"cloud_invalid_url", "cloud_invalid_totp", "cloud_no_home"} <= errors
    # errors may show in either flow; aborts where the flow can end that way
    assert errors - aborts <= set(EN["config"]["error"]) & set(EN["options"]["error"])
    assert {"cloud_reauth", "cloud_totp"} <= set(EN["config"]["step"])
    assert steps - {"cloud_reauth"} <= set(EN["options"]["step"])
    menu = EN["options"]["step"]["init"]["menu_options"]
    assert set(re.findall(r'"(settings|cloud_\w*link)"', source("config_flow.py"))) == set(menu)
    key_errors = set(re.findall(r'": "(cloud_\w+)"', flow))
    assert key_errors <= set(EN["config"]["abort"]) & set(EN["options"]["abort"])
    assert "cloud_not_linked" in EN["config"]["abort"]
    assert "cloud_unlinked_not_revoked" in EN["options"]["abort"]
    issues = source("cloud/backlog.py", "cloud/issues.py", "cloud/const.py")
    for issue in re.findall(r'ISSUE_\w+: Final = "(\w+)"', issues):
        assert issue in EN["issues"], issue
    fix = EN["issues"]["cloud_backlog_overflow"]["fix_flow"]["step"]["confirm"]
    assert {"{dropped}", "{limit}", "{hub}"} <= set(
        re.findall(r"\{\w+\}", fix["title"] + fix["description"])
    )


def test_options_fields_are_described() -> None:
    for name, step in [*EN["options"]["step"].items(), *EN["config"]["step"].items()]:
        assert set(step.get("data", {})) == set(step.get("data_description", {})), name
