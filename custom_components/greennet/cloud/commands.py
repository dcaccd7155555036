"""Remote commands from GreenNet Cloud, executed on the plug through the hub.

The answer is what the plug confirmed, or why nothing happened: the plug is offline (or
not reachable through this hub), it did not confirm in time, or the command is not allowed
(a plug this entry ignores or does not understand, or switching on a tripped plug).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError

from .. import protocol as p
from ..hub import GreenNetHub
from ..models import PlugState, PlugUpdate
from . import const
from .protocol import Command, CommandError, PlugStateReport

_OFFLINE_KEYS = frozenset({"not_connected", "unknown_plug", "plug_offline"})


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """The confirmed state, or the error."""

    report: PlugStateReport | None = None
    error: CommandError | None = None


def plug_report(hub: GreenNetHub, plug: PlugState) -> PlugStateReport:
    """A plug's current relay/availability/protection as the link reports it."""
    protection = plug.protection
    return PlugStateReport(
        plug_id=plug.id,
        online=hub.plug_available(plug.id),
        relay=plug.relay,
        tripped=None if protection is None else protection.tripped,
        max_current=None if protection is None else protection.max_current,
        max_power=None if protection is None else protection.max_power,
    )


async def async_execute(hub: GreenNetHub, command: Command) -> CommandOutcome:
    """Run one command on its plug and wait for the plug's confirmation."""
    plug = hub.plugs.get(command.plug_id)
    if command.plug_id in hub.ignored or (plug is not None and plug.info and not plug.supported):
        return CommandOutcome(error=CommandError.NOT_ALLOWED)
    if plug is None or not hub.plug_available(plug.id):
        return CommandOutcome(error=CommandError.PLUG_OFFLINE)
    try:
        if command.relay is not None:
            return await _async_relay(hub, plug, command.relay)
        assert command.protection is not None
        return await _async_protection(hub, plug, command.protection)
    except HomeAssistantError as err:
        if err.translation_key in _OFFLINE_KEYS:
            return CommandOutcome(error=CommandError.PLUG_OFFLINE)
        return CommandOutcome(error=CommandError.TIMEOUT)


async def _async_relay(hub: GreenNetHub, plug: PlugState, value: str) -> CommandOutcome:
    on = {p.ON: True, p.OFF: False}.get(value, not plug.relay)
    if on and plug.protection is not None and plug.protection.tripped:
        # a trip latches on the plug until a reset: switching on would be refused
        return CommandOutcome(error=CommandError.NOT_ALLOWED)
    await hub.async_set_relay(plug.id, on, timeout=const.COMMAND_TIMEOUT)
    return CommandOutcome(report=plug_report(hub, plug))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def _changes_nothing(plug: PlugState, command: p.ProtectionCommand) -> bool:
    """A command the plug would not answer (it republishes `protection` only on change)."""
    current = plug.protection
    return (
        current is not None
        and (command.max_current is None or _close(command.max_current, current.max_current))
        and (command.max_power is None or _close(command.max_power, current.max_power))
        and not (command.reset and current.tripped)
    )


async def _async_protection(
    hub: GreenNetHub, plug: PlugState, command: p.ProtectionCommand
) -> CommandOutcome:
    if _changes_nothing(plug, command):
        await hub.async_set_protection(plug.id, command)
        return CommandOutcome(report=plug_report(hub, plug))
    confirmed: asyncio.Future[None] = hub.hass.loop.create_future()

    @callback
    def on_update(update: PlugUpdate | None) -> None:
        confirms = update is not None and update.channel is p.Channel.PROTECTION
        if confirms and not confirmed.done():
            confirmed.set_result(None)

    remove = hub.async_add_plug_listener(plug.id, on_update)
    try:
        await hub.async_set_protection(plug.id, command)
        async with asyncio.timeout(const.COMMAND_TIMEOUT):
            await confirmed
    except TimeoutError:
        return CommandOutcome(error=CommandError.TIMEOUT)
    finally:
        remove()
    return CommandOutcome(report=plug_report(hub, plug))
