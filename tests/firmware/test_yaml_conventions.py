"""The firmware YAML as an ESPHome maintainer reads it: importable board files with named
packages and no secrets, the C++ as an external component, honest labels, the usual
diagnostics. (test_config.py and test_adoption.py run ESPHome's validator on them.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from greennet_sim import protocol as p

from .esphome_tool import BOARD_YAMLS, COMPONENT, FIRMWARE, HOST_YAML, LOCAL_YAMLS
from .firmware_yaml import load

PACKAGES = FIRMWARE / "packages"
# Packages every board uses; web-ui.yaml is optional (it needs a web_password secret).
OPTIONAL_PACKAGES = {"web-ui.yaml"}
ALL_YAML = [*BOARD_YAMLS, *LOCAL_YAMLS, HOST_YAML, *sorted(PACKAGES.glob("*.yaml"))]
BOARDS = pytest.mark.parametrize("path", BOARD_YAMLS, ids=lambda path: path.name)


def test_there_is_an_esp32_and_a_c3_board_each_with_a_local_build() -> None:
    assert [path.name for path in BOARD_YAMLS] == ["greennet-plug-c3.yaml", "greennet-plug.yaml"]
    assert [path.name for path in LOCAL_YAMLS] == [
        "greennet-plug-c3-local.yaml",
        "greennet-plug-local.yaml",
    ]


@BOARDS
def test_board_files_use_a_valid_prefix_and_every_package_by_name(path: Path) -> None:
    config = load(path)
    p.validate_prefix(config["substitutions"]["mqtt_prefix"])
    packages = config["packages"]
    assert isinstance(packages, dict)  # named: an adopted config can override or !remove one
    included = {Path(str(item)).name for item in packages.values()}
    assert included == {f.name for f in PACKAGES.glob("*.yaml")} - OPTIONAL_PACKAGES
    assert config["esp32"]["framework"]["type"] == "esp-idf"


@BOARDS
def test_board_files_import_one_release_tag(path: Path) -> None:
    subs = load(path)["substitutions"]
    url = re.fullmatch(r"github://greennet/greennet/esphome/(.+)@(v[0-9.]+)", subs["import_url"])
    assert url, subs["import_url"]
    assert url.group(1) == path.name
    tag = url.group(2)
    assert subs["greennet_source"] == f"github://greennet/greennet@{tag}"
    assert subs["project_version"] == tag.removeprefix("v")


@BOARDS
def test_the_cpp_is_an_external_component_from_the_board_source(path: Path) -> None:
    config = load(path)
    assert config["external_components"] == [
        {"source": "${greennet_source}", "components": ["greennet"]}
    ]
    assert (COMPONENT / "__init__.py").is_file()
    # `includes:` resolves against the adopter's folder, not the package's: none left.
    for yaml_path in [*BOARD_YAMLS, *LOCAL_YAMLS, *PACKAGES.glob("*.yaml")]:
        assert "includes" not in (load(yaml_path).get("esphome") or {}), yaml_path


def test_local_and_host_builds_take_the_component_from_this_checkout() -> None:
    for path in LOCAL_YAMLS:
        config = load(path)
        assert config["substitutions"]["greennet_source"] == "components"
        assert (path.parent / "components" / "greennet").is_dir()
    host = load(HOST_YAML)
    assert host["external_components"] == [{"source": "../components", "components": ["greennet"]}]


def test_importable_files_need_no_secret() -> None:
    """An adopted config has Wi-Fi secrets only; the packages it imports must ask for none."""
    for path in [*BOARD_YAMLS, *PACKAGES.glob("*.yaml")]:
        if path.name in OPTIONAL_PACKAGES:
            continue
        assert "!secret" not in path.read_text(), path


def test_base_package_names_a_minimum_esphome_version() -> None:
    esphome = load(PACKAGES / "base.yaml")["esphome"]
    required = (FIRMWARE / "requirements.txt").read_text().split("esphome==")[1].split()[0]
    assert esphome["min_version"] == required
    assert esphome["project"]["name"] == "greennet.plug"


@BOARDS
def test_board_files_say_dc_only_and_not_for_mains(path: Path) -> None:
    header = path.read_text().split("substitutions:")[0]
    assert "DC ONLY, AT MOST 26 V. NOT FOR MAINS." in header


def test_no_mains_icons() -> None:
    for path in ALL_YAML:
        text = path.read_text()
        for icon in ("mdi:power-socket", "mdi:current-ac", "mdi:power-plug"):
            assert icon not in text, (path, icon)
    relay = next(s for s in load(PACKAGES / "relay.yaml")["switch"] if s["id"] == "gn_relay")
    assert relay["icon"] == "mdi:current-dc"


def test_the_usual_diagnostics_are_there() -> None:
    config = load(PACKAGES / "diagnostics.yaml")
    assert {s["platform"] for s in config["sensor"]} == {"uptime", "wifi_signal"}
    assert {b["platform"] for b in config["button"]} == {"restart", "safe_mode"}
    assert all(s["entity_category"] == "diagnostic" for s in config["sensor"])


def test_c3_logs_go_to_the_devkitm1_usb_to_uart_bridge() -> None:
    c3 = load(FIRMWARE / "greennet-plug-c3.yaml")
    assert c3["esp32"]["board"] == "esp32-c3-devkitm-1"
    assert c3["logger"] == {"hardware_uart": "UART0"}
    # The DevKitM-1's strapping, USB and UART0 pins stay free.
    pins = {c3["substitutions"][key] for key in ("i2c_sda", "i2c_scl", "relay_pin", "button_pin")}
    pins.add(c3["substitutions"]["led_pin"])
    assert not pins & {"GPIO2", "GPIO8", "GPIO9", "GPIO18", "GPIO19", "GPIO20", "GPIO21"}
