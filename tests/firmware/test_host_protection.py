"""Metering and fail-safe protection of the real firmware in the host build (issue #16,
items 1-7). The INA219 is simulated at its registers, decoded as ESPHome's driver does
(esphome/test/ina219_sim.h): 0.1 ohm shunt saturating at 3.2 A, as on the boards. The
host build sets sensor_timeout 3 s and inrush_grace 2 s (the boards: 5 s, off)."""

from __future__ import annotations

import asyncio
import signal

import pytest
from greennet_sim import protocol as p

from .plug_checks import StartPlug, conforms, events, load, switched_on, telemetry

SENSOR_TIMEOUT = 3.0
INRUSH_GRACE = 2.0


async def test_power_is_right_and_protection_works_over_the_whole_range(
    start_plug: StartPlug,
) -> None:
    """ESPHome reads the INA219's power register as signed: above 32767 x 1.96 mW (64 W)
    it went negative, telemetry stopped, energy stopped counting and 75 W never tripped."""
    plug = await start_plug()
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 24.0, 0.5)
    await switched_on(plug)
    energies = []
    for amps in (0.5, 1.5, 2.5, 2.7, 2.9, 3.0):  # 12 .. 72 W, the last three above 64 W
        plug.set_number("Simulated load current", amps)
        report = telemetry(
            await plug.wait_message("telemetry", lambda m, a=amps: telemetry(m).current == a)
        )
        assert report.power == pytest.approx(24.0 * amps, abs=0.05)
        assert report.voltage == 24.0
        energies.append(report.energy)
    # Energy keeps counting at 72 W (0.0001 kWh, the 4th decimal, every 5 s).
    await plug.wait_message(
        "telemetry", lambda m: telemetry(m).energy >= energies[-1] + 0.0001, timeout=10
    )
    assert plug.state("Relay") is True  # 72 W / 3 A: within the 75 W / 3 A defaults

    # 26 V x 2.95 A = 76.7 W: over the 75 W limit, under the hard 79 W (the meter's
    # ceiling): the host's inrush grace lets it last 2 s, then the relay opens.
    mark = plug.mark()
    plug.set_number("Simulated voltage", 26.0)
    plug.set_number("Simulated load current", 2.95)
    event = await plug.wait_message("event", after=mark, timeout=INRUSH_GRACE + 4)
    trip = p.parse_event(event.payload)
    assert trip.type == p.EventType.OVERLOAD_TRIP
    assert (trip.data["reason"], trip.data["power"]) == ("power", pytest.approx(76.7, abs=0.05))
    await plug.wait_until(lambda: plug.state("Relay") is False)
    for m in plug.messages:
        conforms(m)


async def test_limits_are_clamped_to_what_the_meter_measures(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    # The entities offer only the measurable range (0.95 x 3.2 A, 0.95 x 26 V x 3.2 A).
    assert plug.entities["Current limit"].max_value == pytest.approx(3.04)
    assert plug.entities["Power limit"].max_value == pytest.approx(79.0)

    mark = plug.mark()
    plug.command("protection/set", '{"max_current": 50, "max_power": 20000}')
    await plug.wait_message(
        "protection",
        lambda m: p.parse_protection(m.payload) == p.Protection(3.04, 79.0, False, 3.04, 79.0),
    )
    await plug.wait_log("max_current 50.00 A is beyond what the meter measures: 3.04 A")
    plug.set_number("Current limit", 20)  # over the entity's range: refused by ESPHome
    await asyncio.sleep(1)
    assert plug.state("Current limit") == pytest.approx(3.04)
    states = [
        p.parse_protection(m.payload) for m in plug.messages[mark:] if m.channel == "protection"
    ]
    assert all(s.max_current <= 3.04 and s.max_power <= 79 for s in states)


async def test_a_reversed_shunt_still_trips(start_plug: StartPlug) -> None:
    plug = await start_plug()
    plug.command("protection/set", '{"max_current": 1}')
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 12.0, -0.5)  # shunt wired backwards: the chip reads -0.5 A
    await switched_on(plug)
    report = await plug.wait_message("telemetry", lambda m: telemetry(m).current == 0.5)
    assert telemetry(report).power == 6.0
    await plug.wait_log("the shunt is wired in reverse")
    mark = plug.mark()
    plug.set_number("Simulated load current", -2.0)  # |-2 A| is over 1.5 x 1 A: at once
    event = await plug.wait_message("event", after=mark, timeout=3)
    assert p.parse_event(event.payload).data == {"reason": "current", "current": 2.0, "power": 24.0}
    await plug.wait_until(lambda: plug.state("Relay") is False)


async def test_meter_that_stops_opens_the_relay_and_reports_a_sensor_fault(
    start_plug: StartPlug,
) -> None:
    plug = await start_plug()
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 12.0, 1.0)
    await switched_on(plug)
    await plug.wait_message("telemetry", lambda m: telemetry(m).current == 1.0)

    mark = plug.mark()
    plug.switch(True, "Simulated meter failure")  # the INA219 stops answering
    event = await plug.wait_message("event", after=mark, timeout=SENSOR_TIMEOUT + 3)
    fault = p.parse_event(event.payload)
    assert fault.type == p.EventType.SENSOR_FAULT
    assert fault.data["seconds"] >= SENSOR_TIMEOUT
    await plug.wait_message("relay", lambda m: m.payload == "OFF", after=mark)
    await plug.wait_until(lambda: plug.state("Sensor fault") is True)
    await plug.wait_until(lambda: plug.state("Relay") is False)

    # No readings: no telemetry of stale values, and the relay refuses to close.
    mark = plug.mark()
    plug.switch(True)
    plug.command("relay/set", "ON")
    await plug.wait_log("relay stays open: no valid meter reading")
    await asyncio.sleep(2.5)
    assert plug.state("Relay") is False
    assert [m.payload for m in plug.messages[mark:] if m.channel == "relay"] == ["OFF", "OFF"]
    assert not [m for m in plug.messages[mark:] if m.channel == "telemetry"]
    assert events(plug, mark) == []  # the fault was reported once

    # The meter is back: the fault clears, the relay may close again.
    plug.switch(False, "Simulated meter failure")
    await plug.wait_until(lambda: plug.state("Sensor fault") is False, timeout=3)
    await switched_on(plug)
    await plug.wait_message("telemetry", lambda m: telemetry(m).relay, after=mark)
    for m in plug.messages:
        conforms(m)


async def test_meter_missing_at_boot_keeps_the_relay_open(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    log_mark = len(plug.log)
    plug.command("config/set", '{"restore": "on"}')
    await plug.wait_log("settings saved to flash", after=log_mark)
    await plug.stop()

    # Restore "on", but no INA219 answers: the relay never closes, the fault is reported.
    again = await start_plug(env={"GREENNET_SIM_METER_MISSING": "1"})
    event = await again.wait_message("event", timeout=SENSOR_TIMEOUT + 3)
    assert p.parse_event(event.payload).type == p.EventType.SENSOR_FAULT
    await again.wait_log("relay stays open: no valid meter reading")
    await asyncio.sleep(1)
    assert [m.payload for m in again.messages if m.channel == "relay"] == ["OFF", "OFF"]
    assert again.state("Relay") is False
    assert again.state("Sensor fault") is True


async def test_no_fault_is_reported_before_the_meter_had_its_time(start_plug: StartPlug) -> None:
    plug = await start_plug(env={"GREENNET_SIM_METER_MISSING": "1"})
    plug.switch(True)  # well within the 3 s the first reading may take: refused, no fault
    await plug.wait_log("relay stays open: no valid meter reading")
    await asyncio.sleep(1)
    assert events(plug) == []
    await plug.wait_until(lambda: plug.state("Sensor fault") is True, SENSOR_TIMEOUT + 2)
    assert plug.state("Relay") is False
    assert events(plug) == []  # a fault, but the relay was open: nothing to report yet
    plug.switch(True)
    event = await plug.wait_message("event")
    assert p.parse_event(event.payload).type == p.EventType.SENSOR_FAULT


async def test_a_trip_survives_a_power_cut_and_holds_until_reset(start_plug: StartPlug) -> None:
    plug = await start_plug()
    log_mark = len(plug.log)
    plug.command("config/set", '{"restore": "on"}')
    await plug.wait_log("settings saved to flash", after=log_mark)
    log_mark = len(plug.log)
    await load(plug, 12.0, 4.0)  # saturates the meter: a hard overload
    await switched_on(plug)
    await plug.wait_message("event", lambda m: "overload_trip" in m.payload)
    await plug.wait_log("settings saved to flash", after=log_mark)  # the trip, at once
    await plug.stop(signal.SIGKILL)  # power cut right after the trip

    # Restore "on" would close the relay into the fault again: the trip holds it open.
    again = await start_plug()
    await again.wait_message("protection", lambda m: p.parse_protection(m.payload).tripped)
    await again.wait_log("relay stays open: overload trip not reset")
    await again.wait_meter()
    again.switch(True)
    again.command("relay/set", "ON")
    await asyncio.sleep(1.5)
    assert again.state("Relay") is False
    assert "ON" not in [m.payload for m in again.messages if m.channel == "relay"]

    # The button's long press resets it (and says so); the relay stays open until asked.
    mark = again.mark()
    again.press("Simulated button long press")
    event = await again.wait_message("event", after=mark)
    assert p.parse_event(event.payload) == p.PlugEvent("button", {"action": "long"})
    reset = await again.wait_message("protection", after=mark)
    assert p.parse_protection(reset.payload).tripped is False
    assert again.state("Relay") is False
    await load(again, 12.0, 1.0)
    await switched_on(again)


async def test_a_moderate_overload_may_last_the_inrush_grace(start_plug: StartPlug) -> None:
    plug = await start_plug()
    plug.command("protection/set", '{"max_current": 2}')  # hard level: 1.5 x 2 A = 3 A
    plug.command("config/set", '{"interval": 1}')
    await load(plug, 12.0, 1.0)
    await switched_on(plug)
    await plug.wait_message("telemetry", lambda m: telemetry(m).current == 1.0)

    # 2.5 A: a motor starting. No trip while it lasts less than the grace...
    mark = plug.mark()
    plug.set_number("Simulated load current", 2.5)
    await plug.wait_message("telemetry", lambda m: telemetry(m).current == 2.5, after=mark)
    plug.set_number("Simulated load current", 1.0)
    await plug.wait_message("telemetry", lambda m: telemetry(m).current == 1.0, after=mark)
    await asyncio.sleep(INRUSH_GRACE)
    assert events(plug, mark) == []
    assert plug.state("Relay") is True

    # ...and trips once it lasted the grace: on the third reading over the limit, 2 s
    # after the first (readings come every second).
    mark, log_mark = plug.mark(), len(plug.log)
    plug.set_number("Simulated load current", 2.5)
    event = await plug.wait_message("event", after=mark, timeout=INRUSH_GRACE + 3)
    assert p.parse_event(event.payload).data["reason"] == "current"
    steps = [line for line in plug.log[log_mark:] if "meter reading" in line or "overload" in line]
    tripped_at = next(i for i, line in enumerate(steps) if "overload (current)" in line)
    assert sum("meter reading 2.500 A" in line for line in steps[:tripped_at]) >= 3

    # A hard overload trips on the very reading that exceeds the hard level.
    plug.command("protection/set", '{"reset": true}')
    await plug.wait_until(lambda: plug.state("Overload tripped") is False)
    plug.set_number("Simulated load current", 1.0)
    await switched_on(plug)
    mark, log_mark = plug.mark(), len(plug.log)
    plug.set_number("Simulated load current", 3.1)
    await plug.wait_message("event", after=mark, timeout=3)
    steps = [line for line in plug.log[log_mark:] if "meter reading" in line or "overload" in line]
    first_over = next(i for i, line in enumerate(steps) if "meter reading 3.100 A" in line)
    assert "overload (current)" in steps[first_over + 1]


async def test_a_redelivered_toggle_toggles_once(start_plug: StartPlug) -> None:
    plug = await start_plug()
    await plug.wait_message("telemetry")
    await plug.wait_meter()
    mark = plug.mark()
    plug.command("relay/set", "TOGGLE")
    plug.command("relay/set", "TOGGLE")  # QoS 1: the same command delivered twice
    await asyncio.sleep(1)
    assert [m.payload for m in plug.messages[mark:] if m.channel == "relay"] == ["ON"]
    assert plug.state("Relay") is True
    await plug.wait_log("ignored TOGGLE")

    await asyncio.sleep(1.2)  # a deliberate toggle later on is applied
    plug.command("relay/set", "TOGGLE")
    await plug.wait_message("relay", lambda m: m.payload == "OFF", after=mark)


async def test_settings_survive_a_power_cut_right_after_they_change(
    start_plug: StartPlug,
) -> None:
    """Flash is written every 60 s on host; settings must not wait for it."""
    plug = await start_plug()
    await plug.wait_message("telemetry")
    await plug.wait_meter()
    log_mark = len(plug.log)
    plug.command("protection/set", '{"max_current": 2.5, "max_power": 50}')
    plug.command("config/set", '{"interval": 30, "deadband": 2.5, "restore": "last"}')
    await plug.wait_message("config", lambda m: p.parse_config(m.payload).restore == "last")
    plug.switch(True)
    await plug.wait_until(lambda: plug.state("Relay") is True)
    # One save per change: two limits, three config fields, the relay (restore "last").
    await plug.wait_until(
        lambda: sum("settings saved to flash" in line for line in plug.log[log_mark:]) >= 6
    )
    await plug.stop(signal.SIGKILL)  # power cut

    again = await start_plug()
    await again.wait_message("relay", lambda m: m.payload == "ON")  # restore "last"
    by_channel = {m.channel: m.payload for m in again.messages}
    assert p.parse_protection(by_channel["protection"]) == p.Protection(
        2.5, 50.0, False, 3.04, 79.0
    )
    assert p.parse_config(by_channel["config"]) == p.PlugConfig(30, 2.5, p.RestoreMode.LAST)
