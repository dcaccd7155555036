"""The GreenNet cloud link, protocol v1 (docs/cloud-link.md): messages, close codes, timing.

Like the MQTT contract in `../protocol.py`, this module imports nothing from Home Assistant:
it only turns link messages into typed values and back. Parsers raise `LinkProtocolError`
with a short reason (the caller answers `error` and drops the message) or `UnknownMessage`
for a type this version does not know (the caller logs it once and ignores it).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Final

from .. import protocol as p

LINK_PROTOCOL: Final = 1
SUBPROTOCOL: Final = "greennet-link.1"
LINK_PATH: Final = "/api/v1/link"
MAX_FRAME_BYTES: Final = 1 << 20
# Samples per `telemetry` message when the cloud allows more (keeps a frame far below 1 MiB).
MAX_BATCH: Final = 500


class CloseCode(IntEnum):
    """Websocket close codes with a meaning in the link protocol."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_PROTOCOL = 4000
    TOKEN_REVOKED = 4001
    REPLACED = 4008


class MessageType(StrEnum):
    """Every `type` of protocol v1."""

    HELLO = "hello"
    DEVICES = "devices"
    TELEMETRY = "telemetry"
    STATE = "state"
    COMMAND_RESULT = "command_result"
    PING = "ping"
    PONG = "pong"
    WELCOME = "welcome"
    ACK = "ack"
    COMMAND = "command"
    NOTIFICATION = "notification"
    ERROR = "error"


class CommandError(StrEnum):
    """Why a command did not run (`command_result.error`)."""

    PLUG_OFFLINE = "plug_offline"
    TIMEOUT = "timeout"
    NOT_ALLOWED = "not_allowed"
    INVALID_COMMAND = "invalid_command"


class LinkProtocolError(ValueError):
    """A frame that is not a valid protocol v1 message; `msg_id` when it had one."""

    def __init__(self, reason: str, msg_id: str | None = None) -> None:
        super().__init__(reason)
        self.msg_id = msg_id


class InvalidCommand(LinkProtocolError):
    """A `command` that names no plug or action this version can run."""


class UnknownMessage(LinkProtocolError):
    """A message of a type this version does not know (forward compatibility)."""

    def __init__(self, msg_type: str, msg_id: str | None) -> None:
        super().__init__(f"unknown message type {msg_type[:32]!r}", msg_id)
        self.msg_type = msg_type


# --- messages from the cloud --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    """The cloud accepted `hello`."""

    id: str
    reply_to: str
    home_id: str
    max_batch: int


@dataclass(frozen=True, slots=True)
class Ack:
    """The cloud took a message; `body` holds the type-specific fields (seq, devices, ...)."""

    id: str
    reply_to: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """A remote command for one plug: `relay` (ON/OFF/TOGGLE) or `protection` limits."""

    id: str
    plug_id: str
    relay: str | None = None
    protection: p.ProtectionCommand | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """Something the cloud wants the household to see (an alert raised or resolved)."""

    id: str
    notification_id: str
    title: str
    message: str


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """The cloud refused a message (`reply_to`) or reports a problem."""

    id: str
    reply_to: str | None
    error: str
    message: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Keep-alive; answered with `pong`."""

    id: str


@dataclass(frozen=True, slots=True)
class Pong:
    """Answer to our `ping`."""

    id: str
    reply_to: str | None = None


type Incoming = Welcome | Ack | Command | Notification | ErrorMessage | Ping | Pong


def _str(obj: dict[str, Any], key: str, max_len: int = 256, msg_id: str | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= max_len:
        raise LinkProtocolError(f"{key!r} must be a non-empty string", msg_id)
    return value


def _text(obj: dict[str, Any], key: str, max_len: int, msg_id: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str) or len(value) > max_len:
        raise LinkProtocolError(f"{key!r} must be a string", msg_id)
    return value


def decode(frame: str | bytes) -> dict[str, Any]:
    """One frame as a JSON object with a `type` and an `id` (else LinkProtocolError)."""
    if len(frame) > MAX_FRAME_BYTES:
        raise LinkProtocolError("frame larger than 1 MiB")
    try:
        obj = json.loads(frame, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise LinkProtocolError("not valid JSON") from None
    if not isinstance(obj, dict):
        raise LinkProtocolError("a message must be a JSON object")
    raw_id = obj.get("id")
    msg_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else None
    if msg_id is None:
        raise LinkProtocolError("'id' must be a non-empty string")
    if not isinstance(obj.get("type"), str):
        raise LinkProtocolError("'type' must be a string", msg_id)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(frame: str | bytes) -> Incoming:
    """Parse one frame from the cloud (raises LinkProtocolError / UnknownMessage)."""
    obj = decode(frame)
    msg_id: str = obj["id"]
    kind = obj["type"]
    if kind == MessageType.WELCOME:
        protocol = obj.get("protocol")
        if protocol != LINK_PROTOCOL:
            raise LinkProtocolError(f"welcome for protocol {protocol!r}", msg_id)
        max_batch = obj.get("max_batch")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise LinkProtocolError("'max_batch' must be a positive integer", msg_id)
        return Welcome(
            id=msg_id,
            reply_to=_str(obj, "reply_to", 128, msg_id),
            home_id=_str(obj, "home_id", 128, msg_id),
            max_batch=max_batch,
        )
    if kind == MessageType.ACK:
        return Ack(id=msg_id, reply_to=_str(obj, "reply_to", 128, msg_id), body=obj)
    if kind == MessageType.COMMAND:
        return _parse_command(obj, msg_id)
    if kind == MessageType.NOTIFICATION:
        return Notification(
            id=msg_id,
            notification_id=_str(obj, "notification_id", 128, msg_id),
            title=_text(obj, "title", 500, msg_id),
            message=_str(obj, "message", 10_000, msg_id),
        )
    if kind == MessageType.ERROR:
        reply_to = obj.get("reply_to")
        return ErrorMessage(
            id=msg_id,
            reply_to=reply_to if isinstance(reply_to, str) else None,
            error=_str(obj, "error", 64, msg_id),
            message=_text(obj, "message", 2000, msg_id),
        )
    if kind == MessageType.PING:
        return Ping(id=msg_id)
    if kind == MessageType.PONG:
        reply_to = obj.get("reply_to")
        return Pong(id=msg_id, reply_to=reply_to if isinstance(reply_to, str) else None)
    raise UnknownMessage(str(kind), msg_id)


def _parse_command(obj: dict[str, Any], msg_id: str) -> Command:
    plug_id = obj.get("plug_id")
    if not isinstance(plug_id, str) or not p.PLUG_ID_RE.fullmatch(plug_id):
        raise InvalidCommand("'plug_id' must be a GreenNet plug id", msg_id)
    action = obj.get("action")
    if action == "relay":
        value = obj.get("value")
        if value not in (p.ON, p.OFF, p.TOGGLE):
            raise InvalidCommand("relay 'value' must be ON, OFF or TOGGLE", msg_id)
        return Command(id=msg_id, plug_id=plug_id, relay=str(value))
    if action == "protection":
        fields = {k: obj[k] for k in ("max_current", "max_power", "reset") if k in obj}
        try:
            # the MQTT contract's own checks: ranges, types, at least one field
            command = p.parse_protection_command(json.dumps(fields))
        except p.ProtocolError as err:
            raise InvalidCommand(str(err), msg_id) from None
        return Command(id=msg_id, plug_id=plug_id, protection=command)
    raise InvalidCommand("'action' must be relay or protection", msg_id)


# --- messages to the cloud ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One plug as announced in `devices`."""

    plug_id: str
    name: str
    model: str
    sw_version: str
    online: bool


@dataclass(frozen=True, slots=True)
class PlugStateReport:
    """A plug's relay, availability and trip state (`state`, `command_result.state`)."""

    plug_id: str
    online: bool
    relay: bool | None
    tripped: bool | None
    max_current: float | None = None
    max_power: float | None = None


type Sample = tuple[str, int, float, float, float, float, bool]
"""(plug_id, ts ms, power W, voltage V, current A, energy kWh, relay on): compact to persist."""


def sample_json(sample: Sample) -> dict[str, Any]:
    """A queued sample in the device-ingest shape the cloud stores."""
    plug_id, ts, power, voltage, current, energy, relay = sample
    return {
        "plug_id": plug_id,
        "ts": ts,
        "power": power,
        "voltage": voltage,
        "current": current,
        "energy": energy,
        "relay": p.ON if relay else p.OFF,
    }


def is_sample(value: Any) -> bool:
    """Whether a value read back from storage is a well-formed sample."""
    return (
        isinstance(value, list | tuple)
        and len(value) == 7
        and isinstance(value[0], str)
        and p.PLUG_ID_RE.fullmatch(value[0]) is not None
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
        and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in value[2:6]
        )
        and isinstance(value[6], bool)
    )


def _relay_word(relay: bool | None) -> str | None:
    return None if relay is None else (p.ON if relay else p.OFF)


@dataclass(slots=True)
class Outbox:
    """Builds outgoing messages with ids unique for one connection."""

    _counter: int = field(default=0)

    def _message(self, kind: MessageType, **fields: Any) -> dict[str, Any]:
        self._counter += 1
        return {"type": str(kind), "id": f"ha-{self._counter}", **fields}

    def hello(self, hub_id: str, sw_version: str, ha_version: str) -> dict[str, Any]:
        """First message of a connection."""
        return self._message(
            MessageType.HELLO,
            protocol=LINK_PROTOCOL,
            hub_id=hub_id,
            sw_version=sw_version,
            ha_version=ha_version,
        )

    def devices(self, plugs: list[DeviceEntry]) -> dict[str, Any]:
        """The full current plug list."""
        return self._message(
            MessageType.DEVICES,
            plugs=[
                {
                    "plug_id": d.plug_id,
                    "name": d.name,
                    "model": d.model,
                    "sw_version": d.sw_version,
                    "online": d.online,
                }
                for d in plugs
            ],
        )

    def telemetry(self, seq: int, samples: list[Sample]) -> dict[str, Any]:
        """A batch of queued samples."""
        return self._message(
            MessageType.TELEMETRY, seq=seq, samples=[sample_json(s) for s in samples]
        )

    def state(self, report: PlugStateReport, ts: int) -> dict[str, Any]:
        """A plug's relay, availability or trip changed."""
        return self._message(
            MessageType.STATE,
            plug_id=report.plug_id,
            online=report.online,
            relay=_relay_word(report.relay),
            tripped=report.tripped,
            ts=ts,
        )

    def command_ok(self, reply_to: str, report: PlugStateReport) -> dict[str, Any]:
        """The plug confirmed a command: its state now."""
        return self._message(
            MessageType.COMMAND_RESULT,
            reply_to=reply_to,
            ok=True,
            state={
                "relay": _relay_word(report.relay),
                "max_current": report.max_current,
                "max_power": report.max_power,
                "tripped": report.tripped,
            },
        )

    def command_failed(self, reply_to: str, error: CommandError) -> dict[str, Any]:
        """A command that did not run, and why."""
        return self._message(
            MessageType.COMMAND_RESULT, reply_to=reply_to, ok=False, error=str(error)
        )

    def error(self, reply_to: str | None, error: str, message: str) -> dict[str, Any]:
        """We refused a message of the cloud."""
        fields: dict[str, Any] = {"error": error, "message": message}
        if reply_to is not None:
            fields["reply_to"] = reply_to
        return self._message(MessageType.ERROR, **fields)

    def ping(self) -> dict[str, Any]:
        """Keep-alive."""
        return self._message(MessageType.PING)

    def pong(self, reply_to: str) -> dict[str, Any]:
        """Answer to a ping."""
        return self._message(MessageType.PONG, reply_to=reply_to)


def encode(message: dict[str, Any]) -> str:
    """One frame (compact JSON)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return (rng or random).uniform(0.0, ceiling)
