"""The real firmware logic, compiled for the host and driven over the native API.

Every contract message the firmware would put on MQTT is checked against the
contract module (`greennet_sim.protocol`, the same file as the integration's)."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections.abc import Callable

import pytest
from greennet_sim import protocol as p

from .host_plug import MAC
from .plug_checks import StartPlug, conforms, load, switched_on, telemetry


async def test_session_is_announced_in_contract_order(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    first = [m.channel for m in plug.messages[:6]]
    assert first == ["status", "info", "relay", "protection", "config", "telemetry"]
    assert plug.messages[0].payload == "online"
    info = p.parse_info(plug.messages[1].payload, expected_id=p.plug_id_from_mac(MAC))
    assert info.protocol == p.PROTOCOL_VERSION == 1
    assert info.mac == MAC
    assert plug.messages[0].topic == p.topic(p.DEFAULT_PREFIX, info.id, p.Channel.STATUS)
    for m in plug.messages:
        conforms(m)
    # Wired to MQTT: last will `offline` on status, one subscription per command topic.
    assert plug.will is not None
    assert (plug.will.topic, plug.will.payload) == (plug.messages[0].topic, "offline")
    assert (plug.will.qos, plug.will.retain) == (p.QOS_STATE, True)
    assert plug.subscriptions == {
        p.topic(p.DEFAULT_PREFIX, info.id, channel): p.QOS_COMMAND for channel in p.PLUG_SUBSCRIBES
    }

    await plug.stop()
    assert plug.messages[-1].channel == "status"
    assert plug.messages[-1].payload == "offline"  # clean shutdown says so itself


async def test_relay_follows_api_and_relay_set_commands(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    await plug.wait_meter()

    mark = plug.mark()
    plug.switch(True)
    await plug.wait_message("relay", lambda m: m.payload == "ON", after=mark)
    report = await plug.wait_message("telemetry", after=mark)  # immediately on a change
    assert telemetry(report).relay is True
    await plug.wait_until(lambda: plug.state("Relay") is True)

    for command, expected in (("OFF", False), ("TOGGLE", True), ("TOGGLE", False), ("ON", True)):
        if command == "TOGGLE":
            await asyncio.sleep(2.1)  # two TOGGLEs within 2 s count as one (QoS 1 redelivery)
        mark = plug.mark()
        plug.command("relay/set", command)
        word = p.encode_relay(expected)
        await plug.wait_message("relay", lambda m, w=word: m.payload == w, after=mark)
        await plug.wait_until(lambda e=expected: plug.state("Relay") is e)
    for m in plug.messages:
        conforms(m)


async def test_overcurrent_trips_within_one_update_and_latches_until_reset(
    start_plug: StartPlug,
) -> None:
    plug = await start_plug()
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 12.0, 1.0)
    await switched_on(plug)
    ok = await plug.wait_message("telemetry", lambda m: telemetry(m).current == 1.0)
    assert telemetry(ok).relay is True

    mark, log_mark = plug.mark(), len(plug.log)
    plug.set_number("Simulated load current", 4.5)  # default limit 3 A
    event = await plug.wait_message("event", after=mark, timeout=3)
    # The relay opened on the very reading that exceeded the limit, not one later; the
    # INA219 saturates at its 3.2 A range, which is a hard overload (no inrush grace).
    steps = [line for line in plug.log[log_mark:] if "meter reading" in line or "overload" in line]
    first_over = next(i for i, line in enumerate(steps) if "meter reading 3.200 A" in line)
    assert "overload (current)" in steps[first_over + 1]
    trip = p.parse_event(event.payload)
    assert trip.type == "overload_trip"
    assert trip.data["reason"] == "current"
    assert trip.data["current"] == 3.2
    await plug.wait_message("relay", lambda m: m.payload == "OFF", after=mark)
    protection = await plug.wait_message("protection", after=mark)
    assert p.parse_protection(protection.payload).tripped is True
    await plug.wait_until(lambda: plug.state("Overload tripped") is True)
    assert plug.state("Relay") is False

    # The trip latches: switching on is refused (and the relay re-announced OFF).
    mark = plug.mark()
    plug.switch(True)
    await plug.wait_message("relay", lambda m: m.payload == "OFF", after=mark)
    plug.command("relay/set", "ON")
    await asyncio.sleep(1.5)
    assert plug.state("Relay") is False
    assert not [m for m in plug.messages[mark:] if m.payload == "ON"]
    await plug.wait_log("relay stays open: overload trip not reset", after=log_mark)

    # A reset does not close the relay; switching on into the same load trips again.
    mark = plug.mark()
    plug.command("protection/set", '{"reset": true}')
    cleared = await plug.wait_message("protection", after=mark)
    assert p.parse_protection(cleared.payload).tripped is False
    assert plug.state("Relay") is False
    plug.switch(True)
    again = await plug.wait_message("event", after=mark, timeout=3)
    assert p.parse_event(again.payload).data["reason"] == "current"
    await plug.wait_message("relay", lambda m: m.payload == "OFF", after=again.index)

    # With the load back under the limit and the trip reset, the relay stays on.
    plug.set_number("Simulated load current", 2.0)
    await plug.wait_until(lambda: plug.state("Simulated load current") == 2.0)
    plug.command("protection/set", '{"reset": true}')
    await plug.wait_until(lambda: plug.state("Overload tripped") is False)
    mark = plug.mark()
    plug.switch(True)
    await plug.wait_message("telemetry", lambda m: telemetry(m).current == 2.0, after=mark)
    assert not [m for m in plug.messages[mark:] if m.channel == "event"]
    assert plug.state("Relay") is True
    for m in plug.messages:
        conforms(m)


async def test_overpower_trips_with_reason_power(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await load(plug, 24.0, 2.0)  # 48 W, under the 3 A / 75 W defaults
    await switched_on(plug)
    await plug.wait_until(lambda: plug.state("Power") == pytest.approx(48.0))
    mark = plug.mark()
    plug.command("protection/set", '{"max_power": 30}')  # 48 W is over 1.5 x 30 W: no grace
    event = await plug.wait_message("event", after=mark, timeout=3)
    trip = p.parse_event(event.payload)
    assert (trip.data["reason"], trip.data["power"]) == ("power", 48.0)
    await plug.wait_until(lambda: plug.state("Relay") is False)

    mark = plug.mark()
    plug.command("protection/set", '{"reset": true}')
    reset = await plug.wait_message("protection", after=mark)
    assert p.parse_protection(reset.payload) == p.Protection(3.0, 30.0, False, 3.04, 79.0)


async def test_limits_and_settings_persist_across_restart(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    plug.command("protection/set", '{"max_current": 2.5}')
    plug.set_number("Power limit", 60)  # through the entity, not MQTT
    plug.command("config/set", '{"interval": 30, "deadband": 12.5, "restore": "on"}')
    await plug.wait_message(
        "protection",
        lambda m: p.parse_protection(m.payload) == p.Protection(2.5, 60.0, False, 3.04, 79.0),
    )
    await plug.wait_message(
        "config", lambda m: p.parse_config(m.payload) == p.PlugConfig(30, 12.5, p.RestoreMode.ON)
    )
    await plug.stop()

    again = await start_plug()
    await again.wait_message("telemetry")
    by_channel = {m.channel: m.payload for m in again.messages}
    assert p.parse_protection(by_channel["protection"]) == p.Protection(
        2.5, 60.0, False, 3.04, 79.0
    )
    assert p.parse_config(by_channel["config"]) == p.PlugConfig(30, 12.5, p.RestoreMode.ON)
    # Restore "on" closes the relay at power-on, once the meter gave its first reading.
    await again.wait_message("relay", lambda m: m.payload == "ON")
    await again.wait_until(lambda: again.state("Current limit") == 2.5)


async def test_restore_last_brings_back_the_relay_state(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    assert plug.messages[2].payload == "OFF"  # default restore "off"
    log_mark = len(plug.log)
    plug.command("config/set", '{"restore": "last"}')
    await plug.wait_log("settings saved to flash", after=log_mark)
    log_mark = len(plug.log)
    await switched_on(plug)
    await plug.wait_log("settings saved to flash", after=log_mark)  # restore "last": at once
    await plug.stop(signal.SIGKILL)  # power cut

    again = await start_plug()
    await again.wait_message("relay", lambda m: m.payload == "ON")
    again.switch(False)
    await again.wait_until(lambda: again.state("Relay") is False)
    await again.stop()  # clean shutdown flushes at once

    third = await start_plug()
    relay = await third.wait_message("relay")
    assert relay.payload == "OFF"


async def test_lifetime_energy_keeps_increasing_across_restarts(start_plug: StartPlug) -> None:
    plug = await start_plug()
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 24.0, 3.0)  # 72 W: 0.0001 kWh (the 4th decimal) every 5 s
    await switched_on(plug)
    await plug.wait_message("telemetry", lambda m: telemetry(m).energy >= 0.0001, timeout=10)

    await plug.stop()  # clean restart
    before = max(telemetry(m).energy for m in plug.messages if m.channel == "telemetry")

    again = await start_plug()
    first = telemetry(await again.wait_message("telemetry"))
    assert first.energy >= before  # restored, not reset
    await load(again, 24.0, 3.0)
    await again.wait_meter()
    again.command("relay/set", "ON")
    grown = await again.wait_message(
        "telemetry", lambda m: telemetry(m).energy > before + 0.0001, timeout=15
    )
    reports = [m for m in again.messages[: grown.index + 1] if m.channel == "telemetry"]
    energies = [telemetry(m).energy for m in reports]
    assert energies == sorted(energies)  # never decreasing

    # Energy reaches flash every flash_write_interval (60 s on host) and with every
    # settings change; a power cut after one loses nothing counted before it.
    saved = telemetry(grown).energy
    log_mark = len(again.log)
    again.command("config/set", '{"deadband": 1}')
    await again.wait_log("settings saved to flash", after=log_mark)
    await again.stop(signal.SIGKILL)
    third = await start_plug()
    restored = telemetry(await third.wait_message("telemetry")).energy
    assert restored >= saved


async def test_malformed_commands_are_ignored_and_logged(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    bad: list[tuple[str, str]] = [
        ("relay/set", "on"),
        ("relay/set", ""),
        ("relay/set", "ON "),
        ("protection/set", "{}"),
        ("protection/set", "[]"),
        ("protection/set", "not json"),
        ("protection/set", '{"max_current": "5"}'),
        ("protection/set", '{"max_current": true}'),
        ("protection/set", '{"max_current": 0.05}'),
        ("protection/set", '{"max_current": 1e999}'),
        ("protection/set", '{"max_current": NaN}'),
        ("protection/set", '{"max_power": 25001}'),
        ("protection/set", '{"max_power": 50, "reset": "yes"}'),
        ("protection/set", '{"reset": null}'),
        ("protection/set", '{"reset": false}'),
        ("protection/set", '{"max_power": 50,}'),
        ("protection/set", '{"max_power": 50} x'),
        ("protection/set", '{"a":' * 40 + "1" + "}" * 40),
        ("protection/set", json.dumps({"max_power": 50, "pad": "x" * 5000})),
        ("config/set", '{"interval": 1.5}'),
        ("config/set", '{"interval": 0}'),
        ("config/set", '{"interval": 3601}'),
        ("config/set", '{"deadband": -1}'),
        ("config/set", '{"restore": "sometimes"}'),
        ("config/set", '{"restore": 1}'),
        ("config/set", '{"unknown": 1}'),
    ]
    parsers: dict[str, Callable[[str], object]] = {
        "relay/set": p.parse_relay_command,
        "protection/set": p.parse_protection_command,
        "config/set": p.parse_config_command,
    }
    mark = plug.mark()
    for channel, payload in bad:
        try:
            parsers[channel](payload)
        except p.ProtocolError:
            pass
        else:
            raise AssertionError(f"contract module accepts {payload!r}: not a bad command")
        plug.command(channel, payload)
    plug.command("event", '{"type": "button"}')  # not subscribed: never reaches the plug

    # A valid command after the bad ones is applied: the plug is alive and unchanged.
    plug.command("protection/set", '{"max_power": 50, "future_field": [1, {"x": null}]}')
    state = await plug.wait_message("protection", after=mark)
    assert p.parse_protection(state.payload) == p.Protection(3.0, 50.0, False, 3.04, 79.0)
    ignored = [line for line in plug.log if "ignored command" in line]
    assert len(ignored) == len(bad)
    assert plug.undelivered == [p.topic(p.DEFAULT_PREFIX, plug.plug_id, p.Channel.EVENT)]
    changed = [m.channel for m in plug.messages[mark:] if m.channel != "telemetry"]
    assert changed == ["protection"]  # nothing before the valid command changed state
    assert plug.state("Relay") is False
    assert plug.state("Report interval") == 10
    assert plug.returncode is None


async def test_button_click_toggles_the_relay_and_reports_it(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    await plug.wait_meter()
    for expected in ("ON", "OFF"):
        mark = plug.mark()
        plug.api.button_command(plug.key("Simulated button click"))
        event = await plug.wait_message("event", after=mark)
        assert p.parse_event(event.payload) == p.PlugEvent("button", {"action": "single"})
        await plug.wait_message("relay", lambda m, e=expected: m.payload == e, after=mark)


async def test_telemetry_follows_interval_and_deadband(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await load(plug, 12.0, 1.0)
    await switched_on(plug)
    plug.command("config/set", '{"interval": 2}')
    await plug.wait_message("config", lambda m: p.parse_config(m.payload).interval == 2)
    mark = plug.mark()
    await asyncio.sleep(7.2)
    times = [m.at for m in plug.messages[mark:] if m.channel == "telemetry"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 2 <= len(gaps) <= 3
    assert all(1.5 < gap < 2.5 for gap in gaps), gaps

    # Long interval, 5 W deadband: only a move of more than 5 W reports early.
    plug.command("config/set", '{"interval": 3600, "deadband": 5}')
    await plug.wait_message("config", lambda m: p.parse_config(m.payload).interval == 3600)
    await asyncio.sleep(1.5)
    mark = plug.mark()
    plug.set_number("Simulated load current", 1.25)  # 12 W -> 15 W: inside the deadband
    await asyncio.sleep(2.5)
    assert not [m for m in plug.messages[mark:] if m.channel == "telemetry"]
    plug.set_number("Simulated load current", 2.0)  # 24 W: 12 W above the last report
    report = await plug.wait_message("telemetry", after=mark, timeout=3)
    assert telemetry(report).power == 24.0
