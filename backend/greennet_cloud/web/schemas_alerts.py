"""JSON Schemas of the threshold and alert bodies (part 3)."""

from __future__ import annotations

from typing import Any

from ..models import AlertState, Direction, Metric, RepeatPolicy
from ..services.thresholds import MAX_DURATION_SECONDS
from .schemas import MAYBE_TIME, NAME, STR, TIME, array_of, request, response


def _enum(kind: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [member.value for member in kind]}


def _nullable(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {**schema, "type": [*types, "null"]}


MAYBE_STR = {"type": ["string", "null"]}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "22:00"}
QUIET_HOURS = {
    "type": ["object", "null"],
    "properties": {"start": CLOCK, "end": CLOCK},
    "required": ["start", "end"],
    "description": "Daily window in the home's time zone when nobody is notified;"
    " start after end spans midnight; start must differ from end",
}
FIELDS = {
    "name": NAME,
    "metric": _enum(Metric),
    "direction": _enum(Direction),
    "value": {
        "type": "number",
        "minimum": 0,
        "maximum": 100000,
        "description": "W, A, V or kWh by metric, at most 100000 W, 1000 A, 1000 V, 10000 kWh;"
        " not used by offline",
    },
    "hysteresis": {
        "type": "number",
        "minimum": 0,
        "maximum": 100000,
        "description": "How far back in range a reading must be to resolve (same unit)",
    },
    "duration_seconds": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_DURATION_SECONDS,
        "description": "How long the condition must hold; offline: the silence (>= 60)",
    },
    "repeat": _enum(RepeatPolicy),
    "quiet_hours": QUIET_HOURS,
    "enabled": {"type": "boolean"},
}
THRESHOLD = {
    "id": STR,
    "device_id": STR,
    "name": STR,
    "metric": _enum(Metric),
    "direction": _nullable(_enum(Direction), "string"),
    "value": {"type": ["number", "null"]},
    "hysteresis": {"type": ["number", "null"]},
    "duration_seconds": {"type": "integer"},
    "repeat": _enum(RepeatPolicy),
    "quiet_hours": {
        "type": ["object", "null"],
        "properties": {"start": STR, "end": STR},
        "required": ["start", "end"],
    },
    "enabled": {"type": "boolean"},
    "created_at": TIME,
    "updated_at": TIME,
}
ALERT = {
    "id": STR,
    "threshold_id": MAYBE_STR,
    "device_id": STR,
    "home_id": STR,
    "metric": _enum(Metric),
    "direction": _nullable(_enum(Direction), "string"),
    "limit": {"type": ["number", "null"]},
    "value": {"type": ["number", "null"]},
    "state": _enum(AlertState),
    "raised_at": TIME,
    "acknowledged_at": MAYBE_TIME,
    "acknowledged_by": MAYBE_STR,
    "resolved_at": MAYBE_TIME,
    "resolved_by": MAYBE_STR,
}
EVENT = response({"at": TIME, "kind": STR, "user_id": MAYBE_STR, "detail": STR})
ALERT_SCHEMAS: dict[str, dict[str, Any]] = {
    "Threshold": response(THRESHOLD),
    "ThresholdList": array_of("Threshold"),
    # the offline metric needs a duration of at least 60 s; value metrics a value and direction
    "ThresholdCreate": {
        "oneOf": [
            request(
                {
                    **FIELDS,
                    "metric": {"type": "string", "enum": ["offline"]},
                    "duration_seconds": {**FIELDS["duration_seconds"], "minimum": 60},
                },
                ("metric", "duration_seconds"),
            ),
            request(
                {
                    **FIELDS,
                    "metric": {
                        "type": "string",
                        "enum": [m.value for m in Metric if m is not Metric.OFFLINE],
                    },
                },
                ("metric", "direction", "value"),
            ),
        ]
    },  # fmt: skip
    "ThresholdUpdate": request({key: value for key, value in FIELDS.items() if key != "metric"}),
    "Alert": response(ALERT),
    "AlertList": array_of("Alert"),
    "AlertWithHistory": response({**ALERT, "history": {"type": "array", "items": EVENT}}),
}
