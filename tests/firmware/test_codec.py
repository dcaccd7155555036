"""The firmware's hand-written JSON code agrees with the contract module.

esphome/components/greennet/*.h is compiled (g++, a second or two) into a small driver and fed
generated payloads: it must accept exactly the commands protocol.py accepts, with the
same values, and encode only payloads protocol.py parses back to the same numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from greennet_sim import protocol as p
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .logic_driver import Driver

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def python_answer(channel: str, payload: bytes) -> str:
    """What the driver should print, computed with the contract module."""
    try:
        if channel == "relay/set":
            word = p.parse_relay_command(payload)
            relay = {"ON": 1, "OFF": 2, "TOGGLE": 3}[word]
            return f"OK relay={relay} mc=0 mp=0 reset=0 iv=0 db=0 rs=0"
        if channel == "protection/set":
            pc = p.parse_protection_command(payload)
            limits = f"mc={_opt(pc.max_current)} mp={_opt(pc.max_power)}"
            return f"OK relay=0 {limits} reset={int(pc.reset)} iv=0 db=0 rs=0"
        cc = p.parse_config_command(payload)
        return (
            f"OK relay=0 mc=0 mp=0 reset=0 iv={_opt(cc.interval)} db={_opt(cc.deadband)}"
            f" rs={_opt(cc.restore)}"
        )
    except p.ProtocolError:
        return "ERR"


def _opt(value: Any) -> str:
    return "0" if value is None else f"1:{value}"


def normalise(answer: str) -> str:
    """Driver output in python_answer's shape: values re-read, absent ones as 0."""
    if answer.startswith("ERR"):
        return "ERR"
    out = []
    for item in answer.split(" ")[1:]:
        key, value = item.split("=")
        has, _, raw = value.partition(":")
        if key in {"relay", "reset"}:
            out.append(f"{key}={has}")
        elif has == "0":
            out.append(f"{key}=0")
        elif key == "iv":
            out.append(f"{key}=1:{int(raw)}")
        elif key == "rs":
            out.append(f"{key}=1:{raw}")
        else:
            out.append(f"{key}=1:{float(raw)}")
    return "OK " + " ".join(out)


KEYS = ["max_current", "max_power", "reset", "interval", "deadband", "restore", "x"]
# Every range's edges and just beyond them, weighted up: that is where parsers differ.
EDGE_VALUES: list[Any] = [0.1, 100, 1, 25000, 3600, 1.5, 10000, 0, -0.0, 1e3, 0.05, 0.0999]
EDGE_VALUES += [100.001, 0.999, 25000.5, 3600.5, 3601, -0.001, 10000.1, 1e300, 2.0, 60.0]
EDGES = st.sampled_from(EDGE_VALUES)
SCALARS = st.one_of(
    EDGES,
    EDGES,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.none() | st.booleans(),
    st.sampled_from(["off", "on", "last", "ON", "", "true"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
# Command-shaped objects (each known key present about half the time) and anything else.
OBJECTS = st.fixed_dictionaries({}, optional=dict.fromkeys(KEYS, SCALARS)) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=4), VALUES, max_size=4
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        text = json.dumps(
            draw(OBJECTS),
            allow_nan=True,
            separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
        )
    elif kind == 1:  # a valid-looking document with one character dropped or added
        text = json.dumps(draw(OBJECTS))
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["", "}", ",", '"', " ", "\\", "e", "0"]))
            + text[at + 1 :]
        )
    elif kind == 2:
        return draw(st.binary(max_size=40))
    else:
        text = draw(
            st.sampled_from(["ON", "OFF", "TOGGLE", "on", "ON\n", " OFF", "{}", "[]", "null", ""])
        )
    return text.encode("utf-8", "surrogatepass")


@SETTINGS
@given(channel=st.sampled_from(["relay/set", "protection/set", "config/set"]), payload=payloads())
def test_commands_accepted_exactly_when_the_contract_module_accepts(
    driver: Driver, channel: str, payload: bytes
) -> None:
    assert normalise(driver.command(channel, payload)) == python_answer(channel, payload), payload


def test_every_field_at_every_edge_matches_the_contract_module(driver: Driver) -> None:
    others: list[Any] = [True, False, None, "off", "on", "last", "5", [], {}]
    for channel in ("protection/set", "config/set"):
        for key in KEYS:
            for value in [*EDGE_VALUES, *others]:
                payload = json.dumps({key: value}).encode()
                answer = normalise(driver.command(channel, payload))
                assert answer == python_answer(channel, payload), payload


@pytest.mark.parametrize(
    ("channel", "payload"),
    [
        ("protection/set", b'{"max_power": 50, "x": "\xff"}'),  # not UTF-8
        ("protection/set", b'{"max_power": 50, "x": "\xed\xa0\x80"}'),  # encoded surrogate
        ("protection/set", b'{"max_power": 5e1}'),
        ("protection/set", b'{"max_current": 0.1, "max_current": 200}'),  # last key wins
        ("config/set", b'{"interval": 1e3}'),
        ("config/set", b'{"interval": 60.0, "restore": "last"}'),
        ("config/set", b' \t\r\n{"deadband": 0}\n'),
        ("protection/set", b'{"reset": true, "more": {"a": [1, 2, {"b": null}]}}'),
        ("protection/set", b'{"max_power": 1' + b"0" * 30 + b"}"),
        ("protection/set", b'{"max_power": 50, "pad": "' + b"x" * 4100 + b'"}'),
    ],
)
def test_edge_cases_match_the_contract_module(driver: Driver, channel: str, payload: bytes) -> None:
    assert normalise(driver.command(channel, payload)) == python_answer(channel, payload)


# String escapes, weighted towards UTF-16 surrogates: pairs, lone halves, and halves
# followed by another escape (a lone high surrogate must not swallow the next one).
ESCAPES = st.one_of(
    st.integers(0xD800, 0xDFFF).map(lambda u: f"\\u{u:04x}"),
    st.integers(0xD800, 0xDBFF).map(lambda u: f"\\u{u:04X}\\udc{u & 0xFF:02x}"),
    st.integers(0, 0xFFFF).map(lambda u: f"\\u{u:04x}"),
    st.sampled_from(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041"]),
    st.text(st.characters(exclude_categories=["Cs", "Cc"], exclude_characters='"\\'), max_size=2),
)


def python_string(payload: bytes) -> str:
    """What the driver's S case should print: the bytes Python's json decodes for "s"
    (a lone surrogate kept as its 3-byte form, like the firmware keeps it)."""
    return json.loads(payload)["s"].encode("utf-8", "surrogatepass").hex()


def string_case(payload: bytes) -> bytes:
    return f"S {len(payload)}\n".encode() + payload + b"\n"


@pytest.mark.parametrize(
    "escaped",
    [
        r"\ud800\u0041",  # lone high surrogate, then a plain escape: "A" must survive
        r"\ud800\ud800\udc00",  # lone high, then a pair
        r"\udbff\udfff",  # the last pair
        r"\udc00\ud800",  # low then high: two lone halves
        r"\ud800",
        r"x\ud83d\ude00y",
    ],
)
def test_surrogate_escapes_decode_as_the_contract_module_decodes_them(
    driver: Driver, escaped: str
) -> None:
    payload = ('{"s": "' + escaped + '"}').encode()
    assert driver.ask(string_case(payload)) == python_string(payload)


@SETTINGS
@given(st.lists(ESCAPES, max_size=8))
@example([r"\ud800\u0041"])  # the reported case: the "A" was dropped
def test_string_escapes_decode_exactly_as_the_contract_module(
    driver: Driver, pieces: list[str]
) -> None:
    payload = ('{"s": "' + "".join(pieces) + '"}').encode()
    assert driver.ask(string_case(payload)) == python_string(payload), payload


def test_nesting_deeper_than_16_is_refused_to_protect_the_stack(driver: Driver) -> None:
    deep = b'{"max_power": 50, "x": ' + b"[" * 20 + b"]" * 20 + b"}"
    assert driver.command("protection/set", deep).startswith("ERR")
    shallow = b'{"max_power": 50, "x": ' + b"[" * 10 + b"]" * 10 + b"}"
    assert driver.command("protection/set", shallow).startswith("OK")


NUMBERS = st.floats(-2, 30000) | st.sampled_from(
    [0.0, 500.0, 100.0, 25000.0, -0.5, 1e9, 2e9, math.nan, math.inf, -math.inf]
)


@SETTINGS
@given(
    v=NUMBERS,
    i=NUMBERS,
    w=NUMBERS,
    e=NUMBERS,
    relay=st.booleans(),
    rssi=st.integers(-130, 1),
    ts=st.sampled_from([0, 10**12, 1_763_900_000_000, 10**13 + 1]),
)
def test_telemetry_is_valid_contract_json_or_not_sent(
    driver: Driver, v: float, i: float, w: float, e: float, relay: bool, rssi: int, ts: int
) -> None:
    out = driver.ask(f"T {v!r} {i!r} {w!r} {e!r} {int(relay)} {rssi} 42 {ts}\n".encode())

    def clamp(x: float) -> float:
        return 0.0 if -1.0 < x < 0.0 else x

    valid = (
        0 <= clamp(v) <= 500 and 0 <= clamp(i) <= 100 and 0 <= clamp(w) <= 25000 and 0 <= e <= 1e9
    )  # comparisons are False for NaN
    if not valid:
        assert out == "EMPTY"
        return
    t = p.parse_telemetry(out)
    assert math.isclose(t.voltage, clamp(v), abs_tol=0.005)
    assert math.isclose(t.current, clamp(i), abs_tol=0.0005)
    assert math.isclose(t.power, clamp(w), abs_tol=0.05)
    assert math.isclose(t.energy, e, abs_tol=0.00005)
    assert t.relay is relay
    assert t.rssi == (rssi if -127 <= rssi <= 0 else None)
    assert t.uptime == 42
    assert t.ts == (ts if p.TS_RANGE[0] <= ts <= p.TS_RANGE[1] else None)


@SETTINGS
@given(
    mc=st.floats(0.1, 100),
    mp=st.floats(1, 25000),
    tripped=st.booleans(),
    interval=st.integers(1, 3600),
    deadband=st.floats(0, 10000),
    restore=st.sampled_from(list(p.RestoreMode)),
)
def test_state_documents_parse_back(
    driver: Driver,
    mc: float,
    mp: float,
    tripped: bool,
    interval: int,
    deadband: float,
    restore: p.RestoreMode,
) -> None:
    prot = p.parse_protection(
        driver.ask(f"P {mc!r} {mp!r} {int(tripped)} {mc!r} {mp!r}\n".encode())
    )
    assert math.isclose(prot.max_current, mc, abs_tol=0.0005)
    assert math.isclose(prot.max_power, mp, abs_tol=0.05)
    assert prot.tripped is tripped
    assert prot.current_ceiling is not None
    assert math.isclose(prot.current_ceiling, mc, abs_tol=0.0005)
    assert prot.power_ceiling is not None
    assert math.isclose(prot.power_ceiling, mp, abs_tol=0.05)
    cfg = p.parse_config(driver.ask(f"G {interval} {deadband!r} {restore}\n".encode()))
    assert (cfg.interval, cfg.restore) == (interval, restore)
    assert math.isclose(cfg.deadband, deadband, abs_tol=0.05)
    event = p.parse_event(driver.ask(f"E power {mc!r} {mp!r}\n".encode()))
    assert event.type == p.EventType.OVERLOAD_TRIP
    assert event.data["reason"] == "power"
    fault = p.parse_event(driver.ask(f"F {interval}\n"))
    assert fault == p.PlugEvent(p.EventType.SENSOR_FAULT, {"seconds": interval})


@SETTINGS
@given(st.lists(st.tuples(NUMBERS, st.integers(0, 20000)), min_size=1, max_size=30))
def test_energy_never_decreases_and_integrates_power(
    driver: Driver, readings: list[tuple[float, int]]
) -> None:
    case = f"M {len(readings)} " + " ".join(f"{w!r} {dt}" for w, dt in readings)
    totals = [float(x) for x in driver.ask(case.encode() + b"\n").split(" ")]
    assert totals == sorted(totals)
    expected, last = 0.0, None
    for k, (w, dt) in enumerate(readings):
        watts = w if math.isfinite(w) and w > 0 else 0.0
        if last is not None:
            expected += (last + watts) / 2 * min(dt, 10_000) / 3_600_000 / 1000
        last = watts
        assert math.isclose(totals[k], expected, rel_tol=1e-9, abs_tol=1e-15)
