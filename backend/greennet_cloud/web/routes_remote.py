"""Remote access: switch a plug's relay, set its protection limits, and the home's command
audit trail. Owners and `control` shares; answered with the state the plug confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..link.commands import protection_params, relay_params
from ..link.remote import CommandDone
from ..models import CommandRecord
from .answers import json_response
from .body import optional_bool, read_object, string
from .endpoints import Endpoint, Parameter, principal_of
from .keys import REMOTE
from .routes_history import time_param
from .serialize import timestamp


def command_json(done: CommandDone) -> dict[str, Any]:
    """A confirmed command: its id, the device and the state the plug confirmed."""
    return {"command_id": done.command_id, "device_id": done.device.id, **done.state.as_json()}


def record_json(record: CommandRecord) -> dict[str, Any]:
    """One entry of the audit trail."""
    return {
        "id": record.id,
        "device_id": record.device_id,
        "plug_id": record.plug_id,
        "user_id": record.user_id,
        "email": record.user_email,
        "action": record.action,
        "params": record.params,
        "created_at": timestamp(record.created_at),
        "finished_at": timestamp(record.finished_at),
        "result": record.result,
        "state": record.state,
    }


async def switch_relay(request: web.Request) -> web.Response:
    """`{"state": "ON"|"OFF"|"TOGGLE"}` → the confirmed state."""
    body = await read_object(request)
    try:
        params = relay_params(string(body, "state", max_length=8))
    except ValueError as err:
        raise InvalidInput(str(err), "invalid_input") from None
    done = await request.app[REMOTE].command(
        principal_of(request), request.match_info["device_id"], "relay", params
    )
    return json_response(command_json(done))


async def set_protection(request: web.Request) -> web.Response:
    """Any of `max_current` (A), `max_power` (W), `reset: true` → the confirmed state."""
    body = await read_object(request)
    try:
        params = protection_params(
            _number(body, "max_current"), _number(body, "max_power"), optional_bool(body, "reset")
        )
    except ValueError as err:
        raise InvalidInput(str(err), "invalid_input") from None
    done = await request.app[REMOTE].command(
        principal_of(request), request.match_info["device_id"], "protection", params
    )
    return json_response(command_json(done))


async def list_commands(request: web.Request) -> web.Response:
    """The home's remote commands, newest first (owner)."""
    limit = request.query.get("limit", "100")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 500):
        raise InvalidInput("'limit' must be from 1 to 500", "invalid_input")
    before_ms = time_param(request, "before", 0)
    before = datetime.fromtimestamp(before_ms / 1000, UTC) if before_ms else None
    found = await request.app[REMOTE].list_commands(
        principal_of(request), request.match_info["home_id"], before, int(limit)
    )
    return json_response([record_json(record) for record in found])


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"'{name}' must be a number", "invalid_input")
    return float(value)


_LIST_PARAMS = (
    Parameter("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
              "At most this many commands"),
    Parameter("before", {"type": "string"},
              "Only commands sent before this time (Unix ms or ISO 8601 with a zone): the "
              "created_at of the last one for the next page"),
)  # fmt: skip
DI = "/api/v1/devices/{device_id}"
# fmt: off
ENDPOINTS = (
    Endpoint("POST", f"{DI}/relay", switch_relay, "switchRelay",
             "Switch a plug through its hub; answers the confirmed state (owner, control)",
             "remote", request="RelayCommand", responses={200: "ConfirmedCommand"},
             errors=(403, 502, 503, 504)),
    Endpoint("POST", f"{DI}/protection", set_protection, "setProtection",
             "Set a plug's protection limits or reset a trip (owner, control)", "remote",
             request="ProtectionCommand", responses={200: "ConfirmedCommand"},
             errors=(403, 502, 503, 504)),
    Endpoint("GET", "/api/v1/homes/{home_id}/commands", list_commands, "listCommands",
             "Remote commands sent to a home's plugs, newest first (owner)", "remote",
             responses={200: "CommandList"}, errors=(403,), parameters=_LIST_PARAMS),
)
# fmt: on
