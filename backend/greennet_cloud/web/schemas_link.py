"""JSON Schemas of the remote access routes (the HA link itself is in docs/cloud-link.md)."""

from __future__ import annotations

from typing import Any

from ..protocol import MAX_CURRENT_RANGE, MAX_POWER_RANGE
from .schemas import MAYBE_TIME, PLUG_ID, TIME, UUID, array_of, request, response

RELAY_STATE = {"type": ["string", "null"], "enum": ["ON", "OFF", None]}
MAYBE_NUMBER = {"type": ["number", "null"]}
MAYBE_BOOL = {"type": ["boolean", "null"]}
CONFIRMED_STATE = {
    "relay": RELAY_STATE,
    "max_current": MAYBE_NUMBER,
    "max_power": MAYBE_NUMBER,
    "tripped": MAYBE_BOOL,
}
COMMAND_RESULT = {
    "type": ["string", "null"],
    "description": "ok, hub_offline, plug_offline, timeout, not_allowed, invalid_command, "
    "hub_error; null: no outcome recorded (the process sending it stopped)",
}

LINK_SCHEMAS: dict[str, dict[str, Any]] = {
    "RelayCommand": request(
        {"state": {"type": "string", "enum": ["ON", "OFF", "TOGGLE"]}}, ("state",)
    ),
    "ProtectionCommand": {
        **request(
            {
                "max_current": {
                    "type": "number",
                    "minimum": MAX_CURRENT_RANGE[0],
                    "maximum": MAX_CURRENT_RANGE[1],
                    "description": "A",
                },
                "max_power": {
                    "type": "number",
                    "minimum": MAX_POWER_RANGE[0],
                    "maximum": MAX_POWER_RANGE[1],
                    "description": "W",
                },
                "reset": {"type": "boolean", "description": "true: clear a trip"},
            }
        ),
        "anyOf": [
            {"required": ["max_current"]},
            {"required": ["max_power"]},
            {"required": ["reset"], "properties": {"reset": {"const": True}}},
        ],
    },
    "ConfirmedCommand": response({"command_id": UUID, "device_id": UUID, **CONFIRMED_STATE}),
    "CommandRecord": response(
        {
            "id": UUID,
            "device_id": {"type": ["string", "null"], "description": "null once removed"},
            "plug_id": PLUG_ID,
            "user_id": {"type": ["string", "null"], "description": "null once deleted"},
            "email": {"type": ["string", "null"]},
            "action": {"type": "string", "enum": ["relay", "protection"]},
            "params": {"type": "object"},
            "created_at": TIME,
            "finished_at": MAYBE_TIME,
            "result": COMMAND_RESULT,
            "state": {"oneOf": [{"type": "null"}, response(CONFIRMED_STATE)]},
        }
    ),
    "CommandList": array_of("CommandRecord"),
}
