"""Bad payloads, published raw to the real broker, are dropped: no crash, no wrong state."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import EVENT_GREENNET

from ..broker import Mosquitto
from ..mqtt_observer import Observer
from .conftest import state_of, wait_until

GOOD = {"voltage": 230.0, "current": 1.0, "power": 230.0, "energy": 1.5, "relay": "ON"}


def telemetry(**changes: Any) -> bytes:
    """A telemetry document with some fields changed (None removes a field)."""
    doc = {**GOOD, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


INFO_GOOD = {
    "id": "greennet-010000",
    "name": "Sim fridge 1",
    "model": "GreenNet Plug (simulated)",
    "sw_version": "sim-1.0.0",
    "hw_version": "sim",
    "mac": "02:47:4E:01:00:00",
    "ip": "127.0.0.1",
    "protocol": 1,
}


def info(**changes: Any) -> bytes:
    return json.dumps({**INFO_GOOD, **changes}).encode()


# (channel or raw topic suffix, payload, why it is bad)
BAD: list[tuple[str, bytes, str]] = [
    ("telemetry", b"", "empty"),
    ("telemetry", b"not json", "not JSON"),
    ("telemetry", b"[1, 2, 3]", "not an object"),
    ("telemetry", b"\xff\xfe\x00", "not UTF-8"),
    ("telemetry", b'{"voltage": NaN, "current": 1, "power": 1, "energy": 1, "relay": "ON"}', "NaN"),
    (
        "telemetry",
        b'{"voltage": 1, "current": 1, "power": Infinity, "energy": 1, "relay": "ON"}',
        "Infinity",
    ),
    ("telemetry", telemetry(voltage="230"), "number as string"),
    ("telemetry", telemetry(power=True), "bool as number"),
    ("telemetry", telemetry(power=30_000), "power out of range"),
    ("telemetry", telemetry(current=-1), "negative current"),
    ("telemetry", telemetry(energy=None), "energy missing"),
    ("telemetry", telemetry(relay="MAYBE"), "relay word"),
    ("telemetry", telemetry(relay=None), "relay missing"),
    ("telemetry", telemetry(rssi=5), "rssi out of range"),
    ("telemetry", telemetry(uptime=-1), "negative uptime"),
    ("telemetry", telemetry(uptime=1.5), "fractional uptime"),
    ("telemetry", telemetry(ts=12), "ts before 2001"),
    ("telemetry", telemetry(pad="x" * 5000), "oversized"),
    ("telemetry", b"[" * 3000 + b"]" * 3000, "deeply nested and oversized"),
    ("telemetry", b"[" * 2000 + b"]" * 2000, "deeply nested"),
    ("status", b"ONLINE", "status case"),
    ("status", b"offline ", "status trailing space"),
    ("status", b"1", "status number"),
    ("info", info(id="greennet-ffffff"), "info id differs from topic"),
    ("info", info(mac="zz:zz"), "info bad MAC"),
    ("info", info(protocol="1"), "protocol as string"),
    ("info", info(name="n" * 65), "name too long"),
    ("info", info(model=None), "model missing"),
    ("info", b"[]", "info not an object"),
    ("relay", b"on", "relay lower case"),
    ("relay", b"TOGGLE", "relay command on the state topic"),
    ("relay", b"1", "relay number"),
    ("protection", b'{"max_current": 10, "max_power": 0, "tripped": false}', "max_power 0"),
    ("protection", b'{"max_current": 10, "max_power": 2300, "tripped": "yes"}', "tripped word"),
    ("protection", b'{"max_power": 2300, "tripped": false}', "max_current missing"),
    ("config", b'{"interval": 0, "deadband": 0, "restore": "last"}', "interval 0"),
    ("config", b'{"interval": 1.5, "deadband": 0, "restore": "last"}', "fractional interval"),
    ("config", b'{"interval": 10, "deadband": -1, "restore": "last"}', "negative deadband"),
    ("config", b'{"interval": 10, "deadband": 0, "restore": "sometimes"}', "restore word"),
    ("event", b"{}", "event without type"),
    ("event", b'{"type": 123}', "event type number"),
    ("event", json.dumps({"type": "t" * 33}).encode(), "event type too long"),
    ("event", b'{"type": "offline"}', "event type reserved by the hub"),
    ("unknown", b"{}", "unknown channel"),
    ("telemetry/extra", telemetry(), "topic too deep"),
]


async def test_malformed_payloads_are_dropped_without_changing_anything(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: Simulator,
    mosquitto: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.greennet")
    plug = sim.plugs[0]
    await sim.report(plug.id)
    await wait_until(
        hass, lambda: state_of(hass, "sensor", plug.id, "voltage") not in (None, "unknown")
    )
    entity_ids = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.unique_id.startswith(plug.id) and not e.disabled
    ]
    before = {eid: hass.states.get(eid) for eid in entity_ids}
    bus: list[Event] = []
    hass.bus.async_listen(EVENT_GREENNET, bus.append)

    async with Observer(mosquitto) as raw:
        for suffix, payload, _why in BAD:
            await raw.publish(f"greennet/{plug.id}/{suffix}", payload)
        await raw.publish("greennet/NOT-A-PLUG/telemetry", telemetry())
        await raw.publish("greennet/greennet-010000", telemetry())
        # Same client, same QoS: this marker arrives after every bad message above.
        await raw.publish(f"greennet/{plug.id}/telemetry", telemetry(voltage=199.5))
        await wait_until(hass, lambda: state_of(hass, "sensor", plug.id, "voltage") == "199.5")

    for eid, old in before.items():
        new = hass.states.get(eid)
        assert new is not None
        assert new.state != STATE_UNAVAILABLE, eid
        if eid.startswith("sensor."):
            continue  # the marker report moved the measurements on
        assert (new.state, new.attributes) == (old.state, old.attributes), eid  # type: ignore[union-attr]
    assert bus == []  # no event from a bad or reserved event payload
    hub_plug = entry.runtime_data.plugs[plug.id]
    assert hub_plug.online is True
    assert hub_plug.info is not None
    assert hub_plug.info.id == plug.id
    assert set(entry.runtime_data.plugs) == {pl.id for pl in sim.plugs}

    ours = [r for r in caplog.records if r.name.startswith("custom_components.greennet")]
    assert not [r for r in ours if r.levelno >= logging.ERROR]
    dropped = [r for r in ours if "Dropped malformed payload" in r.getMessage()]
    channels_with_bad = {s for s, _, _ in BAD if s in {c.value for c in p.PLUG_PUBLISHES}}
    warnings = [r for r in dropped if r.levelno == logging.WARNING]
    # One warning per plug and channel, then debug lines: a flood cannot fill the log.
    assert len(warnings) == len(channels_with_bad)
    assert len(dropped) == len(BAD) - 4  # empty, reserved type and bad topics: not "malformed"


json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "voltage",
    "current",
    "power",
    "energy",
    "relay",
    "rssi",
    "uptime",
    "ts",
    "max_current",
    "max_power",
    "tripped",
    "current_ceiling",
    "power_ceiling",
    "interval",
    "deadband",
    "restore",
    "type",
    "id",
    "protocol",
]
documents = st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=8)


async def test_random_documents_never_break_the_hub(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> None:
    hub = entry.runtime_data
    plug = sim.plugs[1]
    channels = [str(c) for c in p.PLUG_PUBLISHES]

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(channel=st.sampled_from(channels), doc=documents | json_value)
    def feed(channel: str, doc: Any) -> None:
        payload = json.dumps(doc, allow_nan=True).encode()
        hub.on_message(f"greennet/{plug.id}/{channel}", payload, False)
        state = hub.plugs[plug.id]
        # Whatever was taken went through the contract: finite, in range, right types.
        if state.telemetry is not None:
            t = state.telemetry
            assert all(math.isfinite(v) for v in (t.voltage, t.current, t.power, t.energy))
            assert p.POWER_RANGE[0] <= t.power <= p.POWER_RANGE[1]
        if state.info is not None:
            assert state.info.id == plug.id
        assert isinstance(state.relay, bool)

    feed()
    await hass.async_block_till_done()
    assert hub.plug_available(plug.id) or hub.plugs[plug.id].online is not True
