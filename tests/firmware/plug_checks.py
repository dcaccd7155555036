"""Helpers for the host-plug tests: the contract check every published message must
pass, and the simulated load on the plug's (simulated) INA219."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from greennet_sim import protocol as p

from .host_plug import HostPlug, Published

# start_plug(env=None) -> a started HostPlug (tests/firmware/conftest.py).
StartPlug = Callable[..., Awaitable[HostPlug]]

PARSERS: dict[str, Callable[[str], object]] = {
    p.Channel.STATUS: p.parse_status,
    p.Channel.INFO: p.parse_info,
    p.Channel.TELEMETRY: p.parse_telemetry,
    p.Channel.RELAY: p.parse_relay,
    p.Channel.PROTECTION: p.parse_protection,
    p.Channel.CONFIG: p.parse_config,
    p.Channel.EVENT: p.parse_event,
}


def conforms(m: Published) -> None:
    """QoS, retain flag and payload of one published message follow the contract."""
    channel = p.Channel(m.channel)
    assert channel in p.PLUG_PUBLISHES, m
    assert m.retain == p.PLUG_PUBLISHES[channel], m
    assert m.qos == (p.QOS_TELEMETRY if channel is p.Channel.TELEMETRY else p.QOS_STATE), m
    PARSERS[channel](m.payload)  # raises ProtocolError on any deviation


def telemetry(m: Published) -> p.Telemetry:
    return p.parse_telemetry(m.payload)


def events(plug: HostPlug, after: int = 0) -> list[p.PlugEvent]:
    return [p.parse_event(m.payload) for m in plug.messages[after:] if m.channel == "event"]


async def load(plug: HostPlug, volts: float, amps: float) -> None:
    """Put a simulated load on the plug's meter (it draws only while the relay is closed)."""
    plug.set_number("Simulated voltage", volts)
    plug.set_number("Simulated load current", amps)
    await plug.wait_until(lambda: plug.state("Simulated load current") == amps)


async def switched_on(plug: HostPlug) -> None:
    """Switch the relay on once the meter has a reading (the interlock needs one)."""
    await plug.wait_meter()
    plug.switch(True)
    await plug.wait_until(lambda: plug.state("Relay") is True)
