"""The firmware speaks the MQTT contract: its YAML and headers name the same topics,
QoS, retain flags, payload keys and ranges as docs/protocol.md and the contract module.
(test_host_plug.py checks the messages the compiled logic actually produces.)"""

from __future__ import annotations

import json
import re
from dataclasses import fields

import pytest
from greennet_sim import protocol as p

from .esphome_tool import COMPONENT, FIRMWARE, ROOT
from .firmware_yaml import lambdas, load

INCLUDE = COMPONENT
PACKAGES = FIRMWARE / "packages"
DOC = (ROOT / "docs" / "protocol.md").read_text()
PROTOCOL_H = (INCLUDE / "greennet_protocol.h").read_text()


def header_channels() -> dict[str, tuple[bool, bool, int]]:
    """name -> (plug publishes, retained, qos) from the CHANNELS table."""
    rows = re.findall(r'\{"([a-z/]+)", (true|false), (true|false), (\d)\}', PROTOCOL_H)
    return {name: (pub == "true", ret == "true", int(qos)) for name, pub, ret, qos in rows}


def enum_to_channel(name: str) -> p.Channel:
    """`RELAY_SET` (C++ enum) -> Channel("relay/set")."""
    return p.Channel(name.lower().replace("_", "/"))


def function_body(source: str, name: str) -> str:
    """Text of one inline function in a header (up to the next top-level `}`)."""
    match = re.search(
        rf"(?:inline|template)[^\n]*\b{name}\((?:[^\n]*\}}\n|.*?\n}}\n)", source, re.S
    )
    assert match, f"{name} not found"
    return match.group(0)


def keys_written(body: str) -> list[str]:
    return re.findall(r'\.(?:str|number|integer|boolean)\("([a-z_]+)"', body)


def expected_qos(channel: p.Channel) -> int:
    if channel is p.Channel.TELEMETRY:
        return p.QOS_TELEMETRY
    return p.QOS_COMMAND if channel in p.PLUG_SUBSCRIBES else p.QOS_STATE


def test_header_channel_table_equals_contract_module() -> None:
    table = header_channels()
    assert set(table) == {str(c) for c in p.Channel}
    for channel in p.Channel:
        publishes, retained, qos = table[channel]
        assert publishes == (channel in p.PLUG_PUBLISHES), channel
        assert retained == p.PLUG_PUBLISHES.get(channel, False), channel
        assert qos == expected_qos(channel), channel
    # The enum indexes the table: same order, same names.
    enum = re.search(r"enum Channel : uint8_t \{(.*?)\}", PROTOCOL_H, re.S)
    assert enum
    names = [n.strip() for n in enum.group(1).split(",") if n.strip() != "CHANNEL_COUNT"]
    assert [enum_to_channel(n) for n in names] == list(table)


def test_docs_topic_table_equals_firmware_table() -> None:
    rows = re.findall(
        r"^\| `<p>/<id>/([a-z/]+)` \| (plug →|→ plug) \| .*? \| (yes|no) \| (\d) \|$", DOC, re.M
    )
    assert len(rows) == len(p.Channel)
    table = header_channels()
    for name, direction, retained, qos in rows:
        assert table[name] == (direction == "plug →", retained == "yes", int(qos)), name


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        ("VOLTAGE_MAX", p.VOLTAGE_RANGE[1]),
        ("CURRENT_MAX", p.CURRENT_RANGE[1]),
        ("POWER_MAX", p.POWER_RANGE[1]),
        ("ENERGY_MAX", p.ENERGY_RANGE[1]),
        ("MAX_CURRENT_MIN", p.MAX_CURRENT_RANGE[0]),
        ("MAX_CURRENT_MAX", p.MAX_CURRENT_RANGE[1]),
        ("MAX_POWER_MIN", p.MAX_POWER_RANGE[0]),
        ("MAX_POWER_MAX", p.MAX_POWER_RANGE[1]),
        ("INTERVAL_MIN", p.INTERVAL_RANGE[0]),
        ("INTERVAL_MAX", p.INTERVAL_RANGE[1]),
        ("DEADBAND_MIN", p.DEADBAND_RANGE[0]),
        ("DEADBAND_MAX", p.DEADBAND_RANGE[1]),
        ("PROTOCOL_VERSION", p.PROTOCOL_VERSION),
        ("MAX_PAYLOAD_BYTES", p.MAX_PAYLOAD_BYTES),
    ],
)
def test_header_ranges_equal_contract_module(constant: str, expected: float) -> None:
    source = PROTOCOL_H + (INCLUDE / "greennet_json.h").read_text()
    match = re.search(rf"\b{constant} = ([0-9.e]+)", source)
    assert match, constant
    assert float(match.group(1)) == float(expected)


SAMPLE_INFO = p.PlugInfo("greennet-a1b2c3", "n", "m", "1", "h", "02:47:4E:A1:B2:C3", "", 1)
SAMPLE_TELEMETRY = p.Telemetry(230, 1, 230, 1, True, rssi=-50, uptime=1, ts=p.TS_RANGE[0])


@pytest.mark.parametrize(
    ("encoder", "python_payload"),
    [
        ("encode_info", p.encode_info(SAMPLE_INFO)),
        ("encode_telemetry", p.encode_telemetry(SAMPLE_TELEMETRY)),
        ("encode_protection", p.encode_protection(p.Protection(1, 1, False, 3.04, 79))),
        ("encode_config", p.encode_config(p.PlugConfig(1, 0, p.RestoreMode.OFF))),
    ],
)
def test_payload_keys_equal_contract_module(encoder: str, python_payload: str) -> None:
    assert keys_written(function_body(PROTOCOL_H, encoder)) == list(json.loads(python_payload))


def doc_fields(section: str) -> set[str]:
    """Field names of the table under `### \\`<section>\\``."""
    part = DOC.split(f"### `{section}`", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", part, re.M))


@pytest.mark.parametrize(
    ("encoder", "section"),
    [
        ("encode_info", "info"),
        ("encode_telemetry", "telemetry"),
        ("encode_protection", "protection"),
        ("encode_config", "config` and `config/set"),
    ],
)
def test_payload_keys_equal_docs(encoder: str, section: str) -> None:
    assert set(keys_written(function_body(PROTOCOL_H, encoder))) == doc_fields(section)


def test_event_payloads_follow_the_docs() -> None:
    trip = keys_written(function_body(PROTOCOL_H, "encode_trip_event"))
    button = keys_written(function_body(PROTOCOL_H, "encode_button_event"))
    fault = keys_written(function_body(PROTOCOL_H, "encode_sensor_fault_event"))
    assert trip == ["type", "reason", "current", "power"]
    assert button == ["type", "action"]
    assert fault == ["type", "seconds"]
    assert '"overload_trip"' in function_body(PROTOCOL_H, "encode_trip_event")
    assert '"sensor_fault"' in function_body(PROTOCOL_H, "encode_sensor_fault_event")
    assert {str(e) for e in p.EventType} == {"overload_trip", "button", "sensor_fault"}
    assert "`overload_trip`: `reason` (`current` / `power`), `current` A, `power` W" in DOC
    assert "- `sensor_fault`: `seconds` (integer) without a valid meter reading" in DOC


@pytest.mark.parametrize(
    ("parser", "command"),
    [("parse_protection_command", p.ProtectionCommand), ("parse_config_command", p.ConfigCommand)],
)
def test_command_keys_equal_contract_module(parser: str, command: type) -> None:
    body = function_body(PROTOCOL_H, parser)
    keys = set(re.findall(r'(?:get|has_key|opt_number\(r,)\s*\(?"([a-z_]+)"', body))
    assert keys == {f.name for f in fields(command)}


def test_plug_and_host_build_wire_mqtt_with_the_same_code() -> None:
    """Will, shutdown message and subscriptions come from greennet::attach_mqtt, which the
    host build runs too (test_host_plug checks what it subscribes and wills)."""
    handler = "id(gn_handle_command).execute(topic, payload);"
    plug_boot = "\n".join(lambdas(load(PACKAGES / "mqtt-greennet.yaml")["esphome"]["on_boot"]))
    assert "greennet::attach_mqtt<mqtt::MQTTMessage>(id(gn_mqtt)," in plug_boot
    assert handler in plug_boot
    host = load(FIRMWARE / "test" / "greennet-host.yaml")
    host_boot = "\n".join(lambdas(host["esphome"]["on_boot"]))
    assert "greennet::attach_mqtt<greennet::HostMqttMessage>(&greennet::host_mqtt()," in host_boot
    assert handler in host_boot
    # Every subscription of the plug goes through attach_mqtt, none through mqtt: on_message.
    assert "on_message" not in load(PACKAGES / "mqtt-greennet.yaml")["mqtt"]
    body = function_body((INCLUDE / "greennet_logic.h").read_text(), "attach_mqtt")
    assert "if (!CHANNELS[i].plug_publishes)" in body
    assert "CHANNELS[i].qos" in body


def test_mqtt_package_publishes_only_contract_topics() -> None:
    mqtt = load(PACKAGES / "mqtt-greennet.yaml")["mqtt"]
    assert mqtt["topic_prefix"] is None  # no ESPHome per-entity or log topics
    assert mqtt["discovery"] is False  # HA gets its entities from the GreenNet integration
    assert mqtt["discover_ip"] is False
    assert mqtt["reboot_timeout"] == "0s"
    # publish() refuses until the client reports connected, which is after on_connect fires.
    assert mqtt["on_connect"] == [
        {"wait_until": {"condition": "mqtt.connected", "timeout": "10s"}},
        {"script.execute": "gn_session"},
    ]
    assert not {"birth_message", "will_message", "shutdown_message", "log_topic"} & set(mqtt)
    # Commands sent while the plug was offline are not replayed when it returns.
    assert mqtt["clean_session"] is True
    assert "clean_session: true" in DOC
    assert load(PACKAGES / "base.yaml")["api"]["reboot_timeout"] == "0s"

    published: set[p.Channel] = set()
    for path in [*PACKAGES.glob("*.yaml"), FIRMWARE / "test" / "greennet-host.yaml"]:
        for text in lambdas(load(path)):
            for name in re.findall(r"publish\(greennet::([A-Z_]+)", text):
                published.add(enum_to_channel(name))
    assert published == set(p.PLUG_PUBLISHES)


def test_session_is_announced_in_contract_order() -> None:
    scripts = {s["id"]: s for s in load(PACKAGES / "greennet-core.yaml")["script"]}
    steps = scripts["gn_session"]["then"]
    first = steps[0]["lambda"]
    assert re.findall(r"publish\(greennet::([A-Z]+)", first) == ["STATUS", "INFO", "RELAY"]
    assert 'publish(greennet::STATUS, "online")' in first
    rest = [step["script.execute"] for step in steps[1:] if "script.execute" in step]
    assert [s if isinstance(s, str) else s["id"] for s in rest] == [
        "gn_publish_protection",
        "gn_publish_config",
        "gn_report",
    ]


def test_mdns_advertises_greennet_service_with_contract_txt() -> None:
    (service,) = load(PACKAGES / "mqtt-greennet.yaml")["mdns"]["services"]
    assert (service["service"], service["protocol"]) == ("_greennet", "_tcp")
    assert set(service["txt"]) == {"id", "broker", "port", "prefix"}
    assert "greennet::plug_id_from_mac" in service["txt"]["id"]
