"""Remote access: relay and protection commands from the API to the plug through its hub,
answered with the confirmed state, and the audit trail of every command.

Who: the home's owner and `control` shares (a `read` share or a guest gets 403, anyone else
404). Every command is recorded before it is sent (who, when, what) and its outcome after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import autocommit, reading, reading_each_statement
from ..errors import BadGateway, Forbidden, InvalidInput, NotFound, Offline, TimedOut
from ..models import Access, CommandRecord, Device, DeviceState
from ..services.base import Principal, Service, new_id, require_access
from ..services.device_states import DeviceStates, StateReport
from ..services.devices import visible_device
from ..services.homes import visible_home
from ..storage import commands as command_store
from ..storage import live_links as live_store
from .commands import HUB_OFFLINE, OK, TIMEOUT, CommandOutcome, RemoteCommand
from .messages import ConfirmedState
from .node import LinkNode, pick_holder

MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class CommandDone:
    """A command the plug confirmed: its id, the device and the state it confirmed."""

    command_id: str
    device: Device
    state: ConfirmedState


class RemoteControl(Service):
    """Commands for plugs, routed to the node holding their hub's link."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, node: LinkNode, states: DeviceStates
    ) -> None:
        super().__init__(engine, clock)
        self.node = node
        self.states = states

    async def command(
        self, principal: Principal, device_id: str, action: str, params: dict[str, Any]
    ) -> CommandDone:
        """Send `action` (`relay` / `protection`, params already checked) to a device the
        caller may control; wait for the plug's confirmation."""
        command_id = new_id()
        now = self.now()
        async with reading_each_statement(self.engine).begin() as conn:
            device, access = await visible_device(conn, principal, device_id)
            require_access(access, Access.CONTROL, "control this device")
            holders = await live_store.live_links_of_home(
                conn, device.home_id, now - self.node.expiry
            )
        # on record before it is sent (one statement, committed on its own)
        try:
            async with autocommit(self.engine).begin() as conn:
                await command_store.insert_command(
                    conn,
                    command_id=command_id,
                    home_id=device.home_id,
                    device_id=device.id,
                    plug_id=device.plug_id,
                    user_id=principal.user_id,
                    action=action,
                    params=params,
                    now=now,
                )
        except IntegrityError:  # the device was removed since it was read
            raise NotFound("no such device", "not_found") from None
        command = RemoteCommand(command_id, device.plug_id, action, params)
        outcome = await self.node.send(pick_holder(holders, device.link_token_id), command)
        finished = self.now()
        confirmed: list[StateReport] = []
        # the outcome on record, then the confirmed state unless the hub's own `state` for
        # the same change stored it already (services.device_states): each commits alone
        async with autocommit(self.engine).begin() as conn:
            await command_store.finish_command(
                conn,
                command_id,
                result=outcome.result,
                state=outcome.state.as_json() if outcome.state else None,
                now=finished,
            )
            if outcome.result == OK and outcome.state is not None:
                state = DeviceState(relay=outcome.state.relay, tripped=outcome.state.tripped)
                report = StateReport(device, state, finished)
                confirmed = await self.states.store(conn, [report], changes_only=True)
        await self.states.publish(confirmed)
        return CommandDone(command_id, device, _confirmed(outcome))

    async def list_commands(
        self, principal: Principal, home_id: str, before: datetime | None, limit: int
    ) -> list[CommandRecord]:
        """The audit trail of a home the caller owns, newest first."""
        async with reading(self.engine).begin() as conn:
            _home, access = await visible_home(conn, principal, home_id)
            require_access(access, Access.OWNER, "read this home's command history")
            return await command_store.list_commands(
                conn, home_id, before=before, limit=max(1, min(limit, MAX_LIST))
            )


def _confirmed(outcome: CommandOutcome) -> ConfirmedState:
    """The confirmed state, or the error the API answers for this outcome."""
    result = outcome.result
    if result == OK and outcome.state is not None:
        return outcome.state
    if result == HUB_OFFLINE:
        raise Offline("the home's hub is not connected to the cloud", "hub_offline")
    if result == "plug_offline":
        raise Offline("the plug is offline", "plug_offline")
    if result == TIMEOUT:
        raise TimedOut("the plug did not confirm in time", "command_timeout")
    if result == "not_allowed":
        raise Forbidden("the hub does not allow remote control of this plug", "not_allowed")
    if result == "invalid_command":
        raise InvalidInput("the hub refused the command as invalid", "invalid_command")
    raise BadGateway("the hub answered with an error the cloud does not know", "hub_error")
