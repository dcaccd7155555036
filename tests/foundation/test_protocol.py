"""The contract module: every parser accepts what the contract allows and nothing else."""

from __future__ import annotations

import json

import pytest
from greennet_sim import protocol as p

GOOD_TELEMETRY = {
    "voltage": 229.8,
    "current": 0.412,
    "power": 94.7,
    "energy": 12.3456,
    "relay": "ON",
    "rssi": -61,
    "uptime": 3600,
    "ts": 1_763_900_000_000,
}
GOOD_INFO = {
    "id": "greennet-a1b2c3",
    "name": "Kitchen",
    "model": "GN-1",
    "sw_version": "1.0.0",
    "hw_version": "rev2",
    "mac": "24:6f:28:a1:b2:c3",
    "ip": "192.0.2.10",
    "protocol": 1,
}


def test_simulator_and_integration_share_one_contract_module() -> None:
    import pathlib

    sim_path = pathlib.Path(p.__file__).resolve()
    assert sim_path == pathlib.Path("custom_components/greennet/protocol.py").resolve()


def test_topic_round_trip() -> None:
    t = p.topic("greennet", "greennet-a1b2c3", p.Channel.RELAY_SET)
    assert t == "greennet/greennet-a1b2c3/relay/set"
    assert p.split_topic("greennet", t) == ("greennet-a1b2c3", p.Channel.RELAY_SET)
    assert p.split_topic("home/plugs", "home/plugs/greennet-a1b2c3/info")[1] is p.Channel.INFO


@pytest.mark.parametrize(
    "bad",
    [
        "other/greennet-a1b2c3/relay",
        "greennet/greennet-A1B2C3/relay",
        "greennet/plug1/relay",
        "greennet/greennet-a1b2c3/unknown",
        "greennet/greennet-a1b2c3",
    ],
)
def test_split_topic_rejects_foreign_topics(bad: str) -> None:
    with pytest.raises(p.ProtocolError):
        p.split_topic("greennet", bad)


def test_plug_id_from_mac_uses_last_six_hex_digits_lower_case() -> None:
    assert p.plug_id_from_mac("24:6F:28:A1:B2:C3") == "greennet-a1b2c3"
    with pytest.raises(p.ProtocolError):
        p.plug_id_from_mac("24:6F:28:A1:B2")


def test_telemetry_parses_and_encodes_symmetrically() -> None:
    t = p.parse_telemetry(json.dumps(GOOD_TELEMETRY).encode())
    assert t == p.Telemetry(229.8, 0.412, 94.7, 12.3456, True, -61, 3600, 1_763_900_000_000)
    assert p.parse_telemetry(p.encode_telemetry(t)) == t


def test_telemetry_optional_fields_and_unknown_fields() -> None:
    minimal = {k: GOOD_TELEMETRY[k] for k in ("voltage", "current", "power", "energy", "relay")}
    t = p.parse_telemetry(json.dumps({**minimal, "future_field": [1, 2]}))
    assert (t.rssi, t.uptime, t.ts) == (None, None, None)
    assert "ts" not in json.loads(p.encode_telemetry(t))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("voltage", -1),
        ("voltage", "230"),
        ("power", True),
        ("power", 1e12),
        ("current", None),
        ("energy", -0.1),
        ("relay", "on"),
        ("relay", 1),
        ("rssi", 5),
        ("rssi", -61.5),
        ("ts", 12),
        ("power", 10**400),
    ],
)
def test_telemetry_rejects_wrong_types_and_ranges(field: str, value: object) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_telemetry(json.dumps({**GOOD_TELEMETRY, field: value}))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[1,2]",
        b'{"voltage": NaN}',
        b'{"voltage": Infinity}',
        b"\xff\xfe",
        b"{" * 100_000,
        json.dumps({**GOOD_TELEMETRY, "pad": "x" * 5000}).encode(),
    ],
)
def test_malformed_payloads_raise_protocol_error_only(payload: bytes) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_telemetry(payload)


def test_info_checks_id_against_topic_and_protocol() -> None:
    info = p.parse_info(json.dumps(GOOD_INFO), expected_id="greennet-a1b2c3")
    assert info.mac == "24:6F:28:A1:B2:C3"
    assert info.supported
    assert not p.parse_info(json.dumps({**GOOD_INFO, "protocol": 2})).supported
    with pytest.raises(p.ProtocolError):
        p.parse_info(json.dumps(GOOD_INFO), expected_id="greennet-000000")
    with pytest.raises(p.ProtocolError):
        p.parse_info(json.dumps({**GOOD_INFO, "mac": "nope"}))


def test_status_relay_and_commands() -> None:
    assert p.parse_status(b"online") is True
    assert p.parse_status(b"offline") is False
    assert p.parse_relay(b"OFF") is False
    assert p.parse_relay_command(b"TOGGLE") == "TOGGLE"
    for bad in (b"Online", b""):
        with pytest.raises(p.ProtocolError):
            p.parse_status(bad)
    with pytest.raises(p.ProtocolError):
        p.parse_relay_command(b"toggle")


def test_protection_and_config_commands_need_something_valid() -> None:
    cmd = p.parse_protection_command(b'{"max_power": 1500}')
    assert cmd == p.ProtectionCommand(max_power=1500.0)
    assert p.parse_protection_command(p.encode_protection_command(cmd)) == cmd
    assert p.parse_protection_command(b'{"reset": true}').reset
    for bad in (b"{}", b'{"max_power": 0}', b'{"reset": "yes"}', b'{"max_current": "2"}'):
        with pytest.raises(p.ProtocolError):
            p.parse_protection_command(bad)
    cfg = p.parse_config_command(b'{"interval": 5, "restore": "off"}')
    assert cfg == p.ConfigCommand(interval=5, restore=p.RestoreMode.OFF)
    assert p.parse_config_command(p.encode_config_command(cfg)) == cfg
    for bad in (b"{}", b'{"interval": 0}', b'{"interval": 2.5}', b'{"restore": "maybe"}'):
        with pytest.raises(p.ProtocolError):
            p.parse_config_command(bad)


def test_event_keeps_scalar_extras_only() -> None:
    e = p.parse_event(b'{"type": "overload_trip", "power": 2500.5, "nested": {"a": 1}}')
    assert e == p.PlugEvent("overload_trip", {"power": 2500.5})
    with pytest.raises(p.ProtocolError):
        p.parse_event(b'{"power": 1}')


def test_prefix_validation() -> None:
    assert p.validate_prefix("home/greennet") == "home/greennet"
    for bad in ("", "a/#", "a/+/b", "/lead", "trail/"):
        with pytest.raises(p.ProtocolError):
            p.validate_prefix(bad)


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps(GOOD_TELEMETRY).encode(),
        b'{"voltage": 229.8, "voltage": 230.1, "current": 0, "power": 0, "energy": 1,'
        b' "relay": "OFF"}',
        b'{"voltage": 1e400, "current": 0, "power": 0, "energy": 1, "relay": "OFF"}',
        b'{"voltage": 230, "current": 0, "power": 0, "energy": 1, "relay": "OFF",'
        b' "uptime": 123456789012345678901234567890}',
        b'{"voltage": 230, "current": 0, "power": 0, "energy": 1, "relay": "OFF",'
        b' "note": "\\ud800"}',
        b'\xef\xbb\xbf{"voltage": 230}',
        b'{"voltage": 230, "current": 0, "power": 0, "energy": 1, "relay": "\xe9"}',
    ],
)
def test_the_fast_decoder_reads_what_the_reference_decoder_reads(payload: bytes) -> None:
    """orjson takes the bulk: every payload parses, or fails, exactly as with json."""

    def outcome() -> object:
        try:
            return p.parse_telemetry(payload)
        except p.ProtocolError:
            return p.ProtocolError

    fast = outcome()
    original, p._fast_loads = p._fast_loads, None
    try:
        reference = outcome()
    finally:
        p._fast_loads = original
    assert original is not None
    assert fast == reference


def test_event_extras_keep_integers_beyond_64_bits() -> None:
    e = p.parse_event(b'{"type": "button", "count": 123456789012345678901234567890}')
    assert e.data == {"count": 123456789012345678901234567890}


def test_protection_ceilings_are_optional_and_range_checked() -> None:
    plain = p.parse_protection(b'{"max_current": 10, "max_power": 2300, "tripped": false}')
    assert (plain.current_ceiling, plain.power_ceiling) == (None, None)
    assert "ceiling" not in p.encode_protection(plain)
    full = p.Protection(3.0, 70.0, False, current_ceiling=3.04, power_ceiling=79.0)
    assert p.parse_protection(p.encode_protection(full)) == full
    for bad in ('"current_ceiling": 0', '"power_ceiling": 30000', '"current_ceiling": "3"'):
        with pytest.raises(p.ProtocolError):
            p.parse_protection(f'{{"max_current": 1, "max_power": 1, "tripped": true, {bad}}}')
