"""`/api/v1/devices/{device_id}/thresholds` and `/api/v1/alerts`."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from ..errors import InvalidInput
from ..models import AlertState, Direction, Metric, QuietHours, RepeatPolicy
from ..services.thresholds import ThresholdChanges
from ..storage.alerts import AlertFilter
from .answers import json_response
from .body import choice, optional_bool, optional_string, read_object
from .endpoints import Endpoint, Parameter, principal_of
from .keys import ALERTS, THRESHOLDS
from .query import TIME_SCHEMA, enum_schema, limit_schema, query_choice, query_int, query_time
from .serialize_alerts import alert_json, threshold_json

PAGE = 50
MAX_PAGE = 500
_UNSET: Any = ThresholdChanges().quiet_hours


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"'{name}' must be a number", "invalid_input")
    return float(value)


def _whole(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"'{name}' must be a whole number", "invalid_input")
    return value


def _quiet_hours(body: dict[str, Any]) -> QuietHours | None | Any:
    if "quiet_hours" not in body:
        return _UNSET
    value = body["quiet_hours"]
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput('\'quiet_hours\' must be {"start", "end"} or null', "invalid_input")
    start = optional_string(value, "start", max_length=5)
    end = optional_string(value, "end", max_length=5)
    if start is None or end is None:
        raise InvalidInput("'quiet_hours' needs 'start' and 'end' (HH:MM)", "invalid_input")
    return QuietHours(start=start, end=end)


def changes_from(body: dict[str, Any]) -> ThresholdChanges:
    """The threshold fields of a request body."""
    return ThresholdChanges(
        name=optional_string(body, "name", max_length=1000),
        metric=choice(body, "metric", Metric, required=False),
        direction=choice(body, "direction", Direction, required=False),
        value=_number(body, "value"),
        hysteresis=_number(body, "hysteresis"),
        duration_seconds=_whole(body, "duration_seconds"),
        repeat=choice(body, "repeat", RepeatPolicy, required=False),
        quiet_hours=_quiet_hours(body),
        enabled=optional_bool(body, "enabled"),
    )


async def list_thresholds(request: web.Request) -> web.Response:
    """Thresholds of a device."""
    found = await request.app[THRESHOLDS].list_thresholds(principal_of(request), _device(request))
    return json_response([threshold_json(threshold) for threshold in found])


async def create_threshold(request: web.Request) -> web.Response:
    """Add a threshold."""
    body = await read_object(request)
    threshold = await request.app[THRESHOLDS].create_threshold(
        principal_of(request), _device(request), changes_from(body)
    )
    return json_response(threshold_json(threshold), status=201)


async def get_threshold(request: web.Request) -> web.Response:
    """One threshold."""
    threshold = await request.app[THRESHOLDS].get_threshold(
        principal_of(request), _device(request), request.match_info["threshold_id"]
    )
    return json_response(threshold_json(threshold))


async def update_threshold(request: web.Request) -> web.Response:
    """Change a threshold."""
    body = await read_object(request)
    threshold = await request.app[THRESHOLDS].update_threshold(
        principal_of(request), _device(request), request.match_info["threshold_id"],
        changes_from(body),
    )  # fmt: skip
    return json_response(threshold_json(threshold))


async def delete_threshold(request: web.Request) -> web.Response:
    """Remove a threshold."""
    await request.app[THRESHOLDS].delete_threshold(
        principal_of(request), _device(request), request.match_info["threshold_id"]
    )
    return web.Response(status=204)


async def list_alerts(request: web.Request) -> web.Response:
    """Alerts of every device the caller may read, filtered."""
    device_id = request.query.get("device_id")
    home_id = request.query.get("home_id")
    for name, value in (("device_id", device_id), ("home_id", home_id)):
        if value is not None and (not value or len(value) > 64):
            raise InvalidInput(f"'{name}' is not an id", "invalid_input")
    where = AlertFilter(
        state=query_choice(request, "state", AlertState),
        device_id=device_id,
        home_id=home_id,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        limit=query_int(request, "limit", PAGE, 1, MAX_PAGE),
    )
    found = await request.app[ALERTS].list_alerts(principal_of(request), where)
    return json_response([alert_json(alert) for alert in found])


async def get_alert(request: web.Request) -> web.Response:
    """One alert with its history."""
    alert = await request.app[ALERTS].get_alert(principal_of(request), _alert(request))
    return json_response(alert_json(alert, with_history=True))


async def acknowledge_alert(request: web.Request) -> web.Response:
    """Acknowledge an active alert (owner or control)."""
    alert = await request.app[ALERTS].acknowledge(principal_of(request), _alert(request))
    return json_response(alert_json(alert, with_history=True))


async def resolve_alert(request: web.Request) -> web.Response:
    """Resolve an open alert by hand (owner or control)."""
    alert = await request.app[ALERTS].resolve(principal_of(request), _alert(request))
    return json_response(alert_json(alert, with_history=True))


def _device(request: web.Request) -> str:
    return request.match_info["device_id"]


def _alert(request: web.Request) -> str:
    return request.match_info["alert_id"]


T = "/api/v1/devices/{device_id}/thresholds"
TI = T + "/{threshold_id}"
A = "/api/v1/alerts"
AI = A + "/{alert_id}"
ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64}
# fmt: off
ENDPOINTS = (
    Endpoint("GET", T, list_thresholds, "listThresholds", "Thresholds of a device", "alerts",
             responses={200: "ThresholdList"}),
    Endpoint("POST", T, create_threshold, "createThreshold",
             "Add a threshold (owner or control)", "alerts", request="ThresholdCreate",
             responses={201: "Threshold"}, errors=(403, 409)),
    Endpoint("GET", TI, get_threshold, "getThreshold", "One threshold", "alerts",
             responses={200: "Threshold"}),
    Endpoint("PATCH", TI, update_threshold, "updateThreshold",
             "Change a threshold (owner or control)", "alerts", request="ThresholdUpdate",
             responses={200: "Threshold"}, errors=(403,)),
    Endpoint("DELETE", TI, delete_threshold, "deleteThreshold",
             "Remove a threshold, resolving its open alert (owner or control)", "alerts",
             responses={204: None}, errors=(403,)),
    Endpoint("GET", A, list_alerts, "listAlerts",
             "Alerts of the devices you may read, newest first", "alerts",
             responses={200: "AlertList"}, errors=(404,),
             parameters=(
                 Parameter("state", enum_schema(AlertState), "Only alerts in this state"),
                 Parameter("device_id", ID_SCHEMA, "Only this device's"),
                 Parameter("home_id", ID_SCHEMA, "Only this home's"),
                 Parameter("since", TIME_SCHEMA, "Raised at or after"),
                 Parameter("until", TIME_SCHEMA, "Raised before"),
                 Parameter("limit", limit_schema(MAX_PAGE, PAGE), "At most this many"),
             )),
    Endpoint("GET", AI, get_alert, "getAlert", "One alert with its history", "alerts",
             responses={200: "AlertWithHistory"}),
    Endpoint("POST", f"{AI}/acknowledge", acknowledge_alert, "acknowledgeAlert",
             "Acknowledge an active alert (owner or control)", "alerts",
             responses={200: "AlertWithHistory"}, errors=(403, 409)),
    Endpoint("POST", f"{AI}/resolve", resolve_alert, "resolveAlert",
             "Resolve an open alert by hand (owner or control)", "alerts",
             responses={200: "AlertWithHistory"}, errors=(403, 409)),
)
# fmt: on
