"""Remote commands as they travel: to a hub (`RemoteCommand`), back (`CommandOutcome`), and
between processes on the bus (plain JSON of both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..protocol import MAX_CURRENT_RANGE, MAX_POWER_RANGE, OFF, ON
from .messages import COMMAND_ERRORS, CommandResult, ConfirmedState

OK = "ok"
HUB_OFFLINE = "hub_offline"  # no live link, or it closed before the hub answered
TIMEOUT = "timeout"  # no answer within the command timeout (the hub's own timeout too)
HUB_ERROR = "hub_error"  # the hub answered an error code the protocol does not know


@dataclass(frozen=True, slots=True)
class RemoteCommand:
    """A command for one plug: `relay` with `{"value"}` or `protection` with any of
    `max_current`, `max_power`, `reset`."""

    id: str
    plug_id: str
    action: str
    params: dict[str, Any]

    def message(self) -> dict[str, Any]:
        """The `command` frame."""
        return {
            "type": "command",
            "id": self.id,
            "plug_id": self.plug_id,
            "action": self.action,
            **self.params,
        }

    def as_json(self) -> dict[str, Any]:
        """For the bus."""
        return {"id": self.id, "plug_id": self.plug_id, "action": self.action, **self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteCommand:
        """From the bus (sent by another node of this service, so trusted in shape)."""
        params = {k: v for k, v in data.items() if k not in {"id", "plug_id", "action"}}
        return cls(str(data["id"]), str(data["plug_id"]), str(data["action"]), params)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What became of a command: `result` is `ok` (with the confirmed `state`) or an error."""

    result: str
    state: ConfirmedState | None = None

    @classmethod
    def of(cls, answer: CommandResult) -> CommandOutcome:
        """The outcome a hub's `command_result` states."""
        if answer.ok:
            return cls(OK, answer.state)
        return cls(answer.error if answer.error in COMMAND_ERRORS else HUB_ERROR)

    def as_json(self) -> dict[str, Any]:
        """For the bus and the audit trail."""
        return {
            "result": self.result,
            "state": None if self.state is None else self.state.as_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommandOutcome:
        """From the bus."""
        state = data.get("state")
        if not isinstance(state, dict):
            return cls(str(data.get("result", HUB_ERROR)))
        relay = state.get("relay")
        return cls(
            str(data.get("result", HUB_ERROR)),
            ConfirmedState(
                relay=None if relay is None else relay == ON,
                max_current=state.get("max_current"),
                max_power=state.get("max_power"),
                tripped=state.get("tripped"),
            ),
        )


def relay_params(value: str) -> dict[str, Any]:
    """`{"value": "ON"|"OFF"|"TOGGLE"}`; ValueError otherwise."""
    if value not in (ON, OFF, "TOGGLE"):
        raise ValueError("'state' must be ON, OFF or TOGGLE")
    return {"value": value}


def protection_params(
    max_current: float | None, max_power: float | None, reset: bool | None
) -> dict[str, Any]:
    """Any of the limits (in the plug's ranges) and `reset: true`; ValueError otherwise."""
    params: dict[str, Any] = {}
    for name, value, (low, high) in (
        ("max_current", max_current, MAX_CURRENT_RANGE),
        ("max_power", max_power, MAX_POWER_RANGE),
    ):
        if value is None:
            continue
        if not low <= value <= high:
            raise ValueError(f"'{name}' must be from {low:g} to {high:g}")
        params[name] = value
    if reset:
        params["reset"] = True
    if not params:
        raise ValueError("set 'max_current', 'max_power' or 'reset'")
    return params
