"""The cloud link's wire format, protocol v1 (docs/cloud-link.md).

Every frame is one JSON object with a `type` and an `id`; replies carry `reply_to`. Parsers
raise `MessageError` with an error code and a short reason; the connection answers it with
an `error` message and drops the message, never the link. Unknown fields are ignored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, TypeGuard

from ..models import DeviceState
from ..protocol import (
    MAX_CURRENT_RANGE,
    MAX_POWER_RANGE,
    OFF,
    ON,
    PLUG_ID_RE,
    TOGGLE,
    TS_RANGE,
)

PROTOCOL_VERSION: Final = 1
SUBPROTOCOL: Final = "greennet-link.1"
MAX_ID_LENGTH: Final = 64
MAX_TITLE: Final = 200
MAX_NOTIFICATION_TEXT: Final = 2000
RELAY_VALUES: Final = (ON, OFF, TOGGLE)
# what a hub may answer a command with (anything else is a hub error)
COMMAND_ERRORS: Final = ("plug_offline", "timeout", "not_allowed", "invalid_command")


class CloseCode(IntEnum):
    """Close codes of the link beyond the standard ones."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server shuts down
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011  # the cloud could not register the link (its database)
    UNSUPPORTED_PROTOCOL = 4000
    TOKEN_REVOKED = 4001
    REPLACED = 4008


class MessageError(ValueError):
    """A message the cloud cannot use: answered with `error` `code`, then dropped."""

    def __init__(self, code: str, message: str, reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reply_to = reply_to


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded frame: its type, id and the whole object."""

    type: str
    id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hello:
    """`hello`: who the hub is."""

    protocol: int
    hub_id: str
    sw_version: str
    ha_version: str


@dataclass(frozen=True, slots=True)
class AnnouncedPlug:
    """One plug of a `devices` message (plug id unchecked: a bad one is refused, not an error)."""

    plug_id: str
    name: str | None
    model: str | None
    online: bool | None


@dataclass(frozen=True, slots=True)
class TelemetryBatch:
    """`telemetry`: samples (checked one by one by the ingest service) and their sequence."""

    seq: int
    samples: list[Any]


@dataclass(frozen=True, slots=True)
class PlugStateReport:
    """`state`: what changed on one plug."""

    plug_id: str
    state: DeviceState
    ts: int | None


@dataclass(frozen=True, slots=True)
class ConfirmedState:
    """A plug's state as it confirmed a command (None: the hub did not say)."""

    relay: bool | None
    max_current: float | None
    max_power: float | None
    tripped: bool | None

    def as_json(self) -> dict[str, Any]:
        """The wire/API form: relay as `ON`/`OFF`."""
        return {
            "relay": None if self.relay is None else (ON if self.relay else OFF),
            "max_current": self.max_current,
            "max_power": self.max_power,
            "tripped": self.tripped,
        }


@dataclass(frozen=True, slots=True)
class CommandResult:
    """`command_result`: the outcome of the command `reply_to`."""

    reply_to: str
    ok: bool
    state: ConfirmedState | None
    error: str | None


def decode(text: str) -> Envelope:
    """The envelope of a text frame; `MessageError` when it is not a message at all."""
    try:
        body = json.loads(text, parse_constant=_non_finite)
    except (ValueError, RecursionError):
        raise MessageError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(body, dict):
        raise MessageError("invalid_message", "a message must be a JSON object")
    message_id = body.get("id")
    kind = body.get("type")
    reply = message_id if _is_id(message_id) else None
    if not isinstance(kind, str) or not 0 < len(kind) <= 32:
        raise MessageError("invalid_message", "'type' must be a short string", reply)
    if reply is None:
        raise MessageError("invalid_message", "'id' must be a string of 1-64 characters")
    return Envelope(kind, reply, body)


def parse_hello(body: dict[str, Any]) -> Hello:
    """`protocol` (an integer) and what the hub says about itself."""
    protocol = body.get("protocol")
    if isinstance(protocol, bool) or not isinstance(protocol, int):
        raise MessageError("invalid_message", "'protocol' must be an integer")
    return Hello(
        protocol=protocol,
        hub_id=_text(body, "hub_id", 64),
        sw_version=_text(body, "sw_version", 32),
        ha_version=_text(body, "ha_version", 32),
    )


def parse_devices(body: dict[str, Any], max_plugs: int) -> list[AnnouncedPlug]:
    """The full plug list of a `devices` message."""
    plugs = body.get("plugs")
    if not isinstance(plugs, list):
        raise MessageError("invalid_message", "'plugs' must be a list")
    if len(plugs) > max_plugs:
        raise MessageError("too_many_plugs", f"at most {max_plugs} plugs per message")
    announced = []
    for item in plugs:
        if not isinstance(item, dict) or not isinstance(item.get("plug_id"), str):
            raise MessageError("invalid_message", "each plug must be an object with a 'plug_id'")
        announced.append(
            AnnouncedPlug(
                plug_id=item["plug_id"][:64],
                name=_optional_text(item, "name", 100),
                model=_optional_text(item, "model", 100),
                online=_optional_bool(item, "online"),
            )
        )
    return announced


def parse_telemetry(body: dict[str, Any], max_batch: int) -> TelemetryBatch:
    """`seq` and the `samples` list (each sample is checked by the ingest service)."""
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise MessageError("invalid_message", "'seq' must be a non-negative integer")
    samples = body.get("samples")
    if not isinstance(samples, list):
        raise MessageError("invalid_message", "'samples' must be a list")
    if len(samples) > max_batch:
        raise MessageError("batch_too_large", f"at most {max_batch} samples per message")
    return TelemetryBatch(seq, samples)


def parse_state(body: dict[str, Any]) -> PlugStateReport:
    """One plug's `online`, `relay`, `tripped` (each may be null) and `ts`."""
    plug_id = body.get("plug_id")
    if not isinstance(plug_id, str) or not PLUG_ID_RE.fullmatch(plug_id):
        raise MessageError("invalid_message", "'plug_id' must look like greennet-1a2b3c")
    ts = body.get("ts")
    if ts is not None and (
        isinstance(ts, bool) or not isinstance(ts, int) or not TS_RANGE[0] <= ts <= TS_RANGE[1]
    ):
        raise MessageError("invalid_message", "'ts' must be Unix milliseconds")
    state = DeviceState(
        online=_optional_bool(body, "online"),
        relay=_optional_relay(body, "relay"),
        tripped=_optional_bool(body, "tripped"),
    )
    return PlugStateReport(plug_id, state, ts)


def parse_command_result(body: dict[str, Any]) -> CommandResult:
    """`reply_to`, `ok`, and the confirmed `state` or an `error` code."""
    reply_to = body.get("reply_to")
    if not _is_id(reply_to):
        raise MessageError("invalid_message", "'reply_to' must name the command")
    ok = body.get("ok")
    if not isinstance(ok, bool):
        raise MessageError("invalid_message", "'ok' must be true or false")
    if not ok:
        error = body.get("error")
        if not isinstance(error, str) or not 0 < len(error) <= 32:
            raise MessageError("invalid_message", "'error' must be an error code")
        return CommandResult(reply_to, False, None, error)
    state = body.get("state")
    if not isinstance(state, dict):
        raise MessageError("invalid_message", "'state' must be an object")
    confirmed = ConfirmedState(
        relay=_optional_relay(state, "relay"),
        max_current=_optional_number(state, "max_current", MAX_CURRENT_RANGE),
        max_power=_optional_number(state, "max_power", MAX_POWER_RANGE),
        tripped=_optional_bool(state, "tripped"),
    )
    return CommandResult(reply_to, True, confirmed, None)


# --- cloud → hub -------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> str:
    """A frame's text."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def welcome(message_id: str, reply_to: str, home_id: str, max_batch: int) -> dict[str, Any]:
    """The answer to `hello`."""
    return {
        "type": "welcome",
        "id": message_id,
        "reply_to": reply_to,
        "protocol": PROTOCOL_VERSION,
        "home_id": home_id,
        "max_batch": max_batch,
    }


def ack(message_id: str, reply_to: str, **fields: Any) -> dict[str, Any]:
    """The answer to `devices`, `telemetry` and `state`."""
    return {"type": "ack", "id": message_id, "reply_to": reply_to, **fields}


def notification(title: str, message: str, notification_id: str) -> dict[str, Any]:
    """The fields of a `notification` (short enough for one bus message between nodes)."""
    return {
        "title": title[:MAX_TITLE],
        "message": message[:MAX_NOTIFICATION_TEXT],
        "notification_id": notification_id[:MAX_ID_LENGTH],
    }


def error(message_id: str, code: str, text: str, reply_to: str | None) -> dict[str, Any]:
    """The answer to a message the cloud cannot use."""
    message = {"type": "error", "id": message_id, "error": code, "message": text}
    if reply_to is not None:
        message["reply_to"] = reply_to
    return message


# --- helpers -----------------------------------------------------------------------------


def _non_finite(name: str) -> float:
    return float(name.lower().lstrip("-"))  # NaN/Infinity: the sample checks refuse them


def _is_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def _text(body: dict[str, Any], name: str, max_length: int) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MessageError("invalid_message", f"'{name}' must be a string")
    return value[:max_length]


def _optional_text(body: dict[str, Any], name: str, max_length: int) -> str | None:
    """A display text: control characters dropped (a plug's name is not worth refusing it)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MessageError("invalid_message", f"'{name}' must be a string")
    return "".join(char for char in value if char.isprintable())[:max_length].strip()


def _optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise MessageError("invalid_message", f"'{name}' must be true, false or null")


def _optional_relay(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in (ON, OFF):
        raise MessageError("invalid_message", f"'{name}' must be {ON}, {OFF} or null")
    return bool(value == ON)


def _optional_number(body: dict[str, Any], name: str, bounds: tuple[float, float]) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError("invalid_message", f"'{name}' must be a number or null")
    number = float(value)
    if not math.isfinite(number) or not bounds[0] <= number <= bounds[1]:
        raise MessageError("invalid_message", f"'{name}' must be from {bounds[0]} to {bounds[1]}")
    return number
