"""The GreenNet MQTT contract, protocol v1 (see docs/protocol.md).

This is the single place that knows topic names, payload fields, units and ranges.
It imports nothing from Home Assistant so the simulator, the backend and the tests
share it (they reach this same file through symlinks). Parsers raise
`ProtocolError` with a short reason; callers log that once and drop the message.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

_fast_loads: Callable[[bytes | str], Any] | None = None
try:  # Home Assistant ships orjson; the cloud and the simulator may not have it
    import orjson
except ImportError:  # pragma: no cover - the stdlib decoder below does it all
    pass
else:
    _fast_loads = orjson.loads

PROTOCOL_VERSION: Final = 1
DEFAULT_PREFIX: Final = "greennet"
# Anything larger than this is not a GreenNet message; refuse before decoding.
MAX_PAYLOAD_BYTES: Final = 4096

PLUG_ID_RE: Final = re.compile(r"^greennet-[0-9a-f]{6}$")
PREFIX_RE: Final = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
MAC_RE: Final = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")

ONLINE: Final = "online"
OFFLINE: Final = "offline"
ON: Final = "ON"
OFF: Final = "OFF"
TOGGLE: Final = "TOGGLE"

QOS_STATE: Final = 1
QOS_COMMAND: Final = 1
QOS_TELEMETRY: Final = 0

# (low, high) inclusive ranges; a value outside is a broken sensor or a broken sender.
VOLTAGE_RANGE: Final = (0.0, 500.0)
CURRENT_RANGE: Final = (0.0, 100.0)
POWER_RANGE: Final = (0.0, 25_000.0)
ENERGY_RANGE: Final = (0.0, 1.0e9)
RSSI_RANGE: Final = (-127, 0)
UPTIME_RANGE: Final = (0, 2**40)
TS_RANGE: Final = (1_000_000_000_000, 10_000_000_000_000)  # Unix ms, 2001..2286
MAX_CURRENT_RANGE: Final = (0.1, 100.0)
MAX_POWER_RANGE: Final = (1.0, 25_000.0)
INTERVAL_RANGE: Final = (1, 3600)
DEADBAND_RANGE: Final = (0.0, 10_000.0)


class Channel(StrEnum):
    """Topic suffix after `<prefix>/<id>/`."""

    STATUS = "status"
    INFO = "info"
    TELEMETRY = "telemetry"
    RELAY = "relay"
    RELAY_SET = "relay/set"
    PROTECTION = "protection"
    PROTECTION_SET = "protection/set"
    CONFIG = "config"
    CONFIG_SET = "config/set"
    EVENT = "event"


# Channels a plug publishes (and whether they are retained) / channels it obeys.
PLUG_PUBLISHES: Final[dict[Channel, bool]] = {
    Channel.STATUS: True,
    Channel.INFO: True,
    Channel.TELEMETRY: False,
    Channel.RELAY: True,
    Channel.PROTECTION: True,
    Channel.CONFIG: True,
    Channel.EVENT: False,
}
PLUG_SUBSCRIBES: Final = (Channel.RELAY_SET, Channel.PROTECTION_SET, Channel.CONFIG_SET)


class RestoreMode(StrEnum):
    """Relay state after power loss."""

    OFF = "off"
    ON = "on"
    LAST = "last"


class EventType(StrEnum):
    """Event types defined by v1 (others are accepted and passed through)."""

    OVERLOAD_TRIP = "overload_trip"
    BUTTON = "button"
    SENSOR_FAULT = "sensor_fault"


class ProtocolError(ValueError):
    """A payload or topic that does not follow the contract."""


@dataclass(frozen=True, slots=True)
class PlugInfo:
    """Retained identity of a plug (`<id>/info`)."""

    id: str
    name: str
    model: str
    sw_version: str
    hw_version: str
    mac: str
    ip: str
    protocol: int

    @property
    def supported(self) -> bool:
        """Whether this side understands the plug's protocol version."""
        return self.protocol == PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class Telemetry:
    """One measurement report (`<id>/telemetry`)."""

    voltage: float
    current: float
    power: float
    energy: float
    relay: bool
    rssi: int | None = None
    uptime: int | None = None
    ts: int | None = None


@dataclass(frozen=True, slots=True)
class Protection:
    """Overload limits and whether the plug has tripped (`<id>/protection`).

    The ceilings are the highest limits the plug accepts (what its meter can measure);
    a plug that clamps limits reports them, others may leave them out (None).
    """

    max_current: float
    max_power: float
    tripped: bool
    current_ceiling: float | None = None
    power_ceiling: float | None = None


@dataclass(frozen=True, slots=True)
class PlugConfig:
    """Reporting and restore settings (`<id>/config`)."""

    interval: int
    deadband: float
    restore: RestoreMode


@dataclass(frozen=True, slots=True)
class PlugEvent:
    """A one-off event (`<id>/event`); `data` holds the extra scalar fields."""

    type: str
    data: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProtectionCommand:
    """`<id>/protection/set`: any of the limits, and/or a reset of a trip."""

    max_current: float | None = None
    max_power: float | None = None
    reset: bool = False


@dataclass(frozen=True, slots=True)
class ConfigCommand:
    """`<id>/config/set`: any of the settings."""

    interval: int | None = None
    deadband: float | None = None
    restore: RestoreMode | None = None


# --- topics -----------------------------------------------------------------


def validate_prefix(prefix: str) -> str:
    """Return the prefix if it is usable as a topic root, else raise."""
    if not PREFIX_RE.fullmatch(prefix):
        raise ProtocolError(f"invalid topic prefix {prefix!r}")
    return prefix


def topic(prefix: str, plug_id: str, channel: Channel) -> str:
    """Full topic for one plug and channel."""
    return f"{prefix}/{plug_id}/{channel}"


def wildcard(prefix: str, channel: Channel | None = None) -> str:
    """Subscription filter for one channel of every plug, or everything."""
    return f"{prefix}/+/{channel}" if channel else f"{prefix}/#"


def split_topic(prefix: str, full_topic: str) -> tuple[str, Channel]:
    """Split `<prefix>/<id>/<channel>` into plug id and channel, or raise."""
    head = prefix + "/"
    if not full_topic.startswith(head):
        raise ProtocolError(f"topic {full_topic!r} outside prefix {prefix!r}")
    plug_id, _, rest = full_topic[len(head) :].partition("/")
    if not PLUG_ID_RE.fullmatch(plug_id):
        raise ProtocolError(f"invalid plug id in topic {full_topic!r}")
    try:
        return plug_id, Channel(rest)
    except ValueError:
        raise ProtocolError(f"unknown channel in topic {full_topic!r}") from None


def plug_id_from_mac(mac: str) -> str:
    """`greennet-` + last six hex digits of the MAC, lower case."""
    if not MAC_RE.fullmatch(mac):
        raise ProtocolError(f"invalid MAC {mac!r}")
    return "greennet-" + mac.replace(":", "").lower()[-6:]


# --- decoding helpers -------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"non-finite number {name}")


def _text(payload: bytes | str) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("payload is not UTF-8") from None
    return payload


# One decoder for every payload: json.loads with an option builds a new one per call.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _decode(payload: bytes | str) -> Any:
    """The standard library's decoder: the reference, and the one that names a fault."""
    text = _text(payload)
    try:
        return _DECODER.decode(text)
    except (json.JSONDecodeError, RecursionError):
        raise ProtocolError("payload is not JSON") from None


def _object(payload: bytes | str, exact: bool = False) -> dict[str, Any]:
    """The payload's JSON object; `exact` keeps every number as the reference reads it."""
    if _fast_loads is None or exact:
        value = _decode(payload)
    elif len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    else:
        # orjson (several times faster) takes the well-formed bulk. What it refuses (NaN,
        # bad UTF-8, a lone surrogate, 1e400) goes to the reference decoder, which names
        # the fault or decodes it as before. One difference is left: orjson reads an
        # integer beyond 64 bits as a float, which every numeric range refuses anyway
        # (events, whose extra fields pass through unchecked, ask for `exact`).
        try:
            value = _fast_loads(payload)
        except ValueError:
            value = _decode(payload)
    if not isinstance(value, dict):
        raise ProtocolError("payload is not a JSON object")
    return value


def _number(obj: dict[str, Any], key: str, bounds: tuple[float, float]) -> float:
    value = obj.get(key)
    if type(value) is float and bounds[0] <= value <= bounds[1]:
        return value  # the usual case; NaN and infinities fail the comparison
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{key} must be a number")
    try:
        number = float(value)
    except OverflowError:  # a 400-digit integer is valid JSON but no float
        raise ProtocolError(f"{key} is out of range") from None
    if not math.isfinite(number) or not bounds[0] <= number <= bounds[1]:
        raise ProtocolError(f"{key}={value!r} outside {bounds[0]}..{bounds[1]}")
    return number


def _integer(obj: dict[str, Any], key: str, bounds: tuple[int, int]) -> int:
    value = obj.get(key)
    if type(value) is int and bounds[0] <= value <= bounds[1]:
        return value  # the usual case
    # 12.0 is accepted as 12: some JSON encoders (ESPHome's among them) write floats.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{key} must be an integer")
    if not bounds[0] <= value <= bounds[1]:
        raise ProtocolError(f"{key}={value!r} outside {bounds[0]}..{bounds[1]}")
    return value


def _optional(obj: dict[str, Any], key: str, read: Any, bounds: tuple[Any, Any]) -> Any:
    return None if obj.get(key) is None else read(obj, key, bounds)


def _string(obj: dict[str, Any], key: str, max_len: int = 64, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > max_len or (required and not value):
        raise ProtocolError(f"{key} must be a non-empty string of at most {max_len} characters")
    return value


def _boolean(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise ProtocolError(f"{key} must be true or false")
    return value


def _relay_word(text: str) -> bool:
    if text == ON:
        return True
    if text == OFF:
        return False
    raise ProtocolError(f"relay state must be {ON} or {OFF}, got {text[:16]!r}")


# --- plug -> consumers ------------------------------------------------------


def parse_status(payload: bytes | str) -> bool:
    """`online` → True, `offline` → False."""
    text = _text(payload)
    if text == ONLINE:
        return True
    if text == OFFLINE:
        return False
    raise ProtocolError(f"status must be {ONLINE} or {OFFLINE}, got {text[:16]!r}")


def parse_info(payload: bytes | str, expected_id: str | None = None) -> PlugInfo:
    """Parse a retained `info` document; its id must match the topic's."""
    obj = _object(payload)
    plug_id = _string(obj, "id")
    if not PLUG_ID_RE.fullmatch(plug_id):
        raise ProtocolError(f"invalid plug id {plug_id!r}")
    if expected_id is not None and plug_id != expected_id:
        raise ProtocolError(f"info id {plug_id!r} does not match topic id {expected_id!r}")
    mac = _string(obj, "mac", 17)
    if not MAC_RE.fullmatch(mac):
        raise ProtocolError(f"invalid MAC {mac!r}")
    return PlugInfo(
        id=plug_id,
        name=_string(obj, "name"),
        model=_string(obj, "model"),
        sw_version=_string(obj, "sw_version", 32),
        hw_version=_string(obj, "hw_version", 32, required=False),
        mac=mac.upper(),
        ip=_string(obj, "ip", 45, required=False),
        protocol=_integer(obj, "protocol", (1, 1000)),
    )


def parse_telemetry(payload: bytes | str) -> Telemetry:
    """Parse one telemetry report."""
    obj = _object(payload)
    relay = obj.get("relay")
    if not isinstance(relay, str):
        raise ProtocolError("relay must be ON or OFF")
    return Telemetry(
        voltage=_number(obj, "voltage", VOLTAGE_RANGE),
        current=_number(obj, "current", CURRENT_RANGE),
        power=_number(obj, "power", POWER_RANGE),
        energy=_number(obj, "energy", ENERGY_RANGE),
        relay=_relay_word(relay),
        rssi=_optional(obj, "rssi", _integer, RSSI_RANGE),
        uptime=_optional(obj, "uptime", _integer, UPTIME_RANGE),
        ts=_optional(obj, "ts", _integer, TS_RANGE),
    )


def parse_relay(payload: bytes | str) -> bool:
    """Retained relay state: `ON` → True, `OFF` → False."""
    return _relay_word(_text(payload))


def parse_protection(payload: bytes | str) -> Protection:
    """Parse the retained protection state."""
    obj = _object(payload)
    return Protection(
        max_current=_number(obj, "max_current", MAX_CURRENT_RANGE),
        max_power=_number(obj, "max_power", MAX_POWER_RANGE),
        tripped=_boolean(obj, "tripped"),
        current_ceiling=_optional(obj, "current_ceiling", _number, MAX_CURRENT_RANGE),
        power_ceiling=_optional(obj, "power_ceiling", _number, MAX_POWER_RANGE),
    )


def _restore(obj: dict[str, Any]) -> RestoreMode:
    try:
        return RestoreMode(str(obj.get("restore")))
    except ValueError:
        raise ProtocolError("restore must be off, on or last") from None


def parse_config(payload: bytes | str) -> PlugConfig:
    """Parse the retained reporting/restore config."""
    obj = _object(payload)
    return PlugConfig(
        interval=_integer(obj, "interval", INTERVAL_RANGE),
        deadband=_number(obj, "deadband", DEADBAND_RANGE),
        restore=_restore(obj),
    )


def parse_event(payload: bytes | str) -> PlugEvent:
    """Parse an event; non-scalar extra fields are dropped."""
    obj = _object(payload, exact=True)
    event_type = _string(obj, "type", 32)
    data = {
        k: v
        for k, v in obj.items()
        if k != "type"
        and isinstance(k, str)
        and (isinstance(v, bool | int | str) or (isinstance(v, float) and math.isfinite(v)))
    }
    return PlugEvent(type=event_type, data=data)


# --- consumers -> plug ------------------------------------------------------


def parse_relay_command(payload: bytes | str) -> str:
    """`ON` / `OFF` / `TOGGLE`."""
    text = _text(payload)
    if text not in (ON, OFF, TOGGLE):
        raise ProtocolError(f"relay command must be ON, OFF or TOGGLE, got {text[:16]!r}")
    return text


def parse_protection_command(payload: bytes | str) -> ProtectionCommand:
    """Any of `max_current`, `max_power`, `reset`; at least one."""
    obj = _object(payload)
    reset = obj.get("reset", False)
    if not isinstance(reset, bool):
        raise ProtocolError("reset must be true or false")
    command = ProtectionCommand(
        max_current=_optional(obj, "max_current", _number, MAX_CURRENT_RANGE),
        max_power=_optional(obj, "max_power", _number, MAX_POWER_RANGE),
        reset=reset,
    )
    if command == ProtectionCommand():
        raise ProtocolError("protection command sets nothing")
    return command


def parse_config_command(payload: bytes | str) -> ConfigCommand:
    """Any of `interval`, `deadband`, `restore`; at least one."""
    obj = _object(payload)
    command = ConfigCommand(
        interval=_optional(obj, "interval", _integer, INTERVAL_RANGE),
        deadband=_optional(obj, "deadband", _number, DEADBAND_RANGE),
        restore=None if obj.get("restore") is None else _restore(obj),
    )
    if command == ConfigCommand():
        raise ProtocolError("config command sets nothing")
    return command


# --- encoding ---------------------------------------------------------------


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def encode_info(info: PlugInfo) -> str:
    """JSON for `<id>/info`."""
    return _dump(
        {
            "id": info.id,
            "name": info.name,
            "model": info.model,
            "sw_version": info.sw_version,
            "hw_version": info.hw_version,
            "mac": info.mac,
            "ip": info.ip,
            "protocol": info.protocol,
        }
    )


def encode_telemetry(t: Telemetry) -> str:
    """JSON for `<id>/telemetry`; optional fields omitted when unknown."""
    obj: dict[str, Any] = {
        "voltage": round(t.voltage, 2),
        "current": round(t.current, 3),
        "power": round(t.power, 1),
        "energy": round(t.energy, 4),
        "relay": ON if t.relay else OFF,
    }
    for key in ("rssi", "uptime", "ts"):
        if (value := getattr(t, key)) is not None:
            obj[key] = value
    return _dump(obj)


def encode_relay(on: bool) -> str:
    """`ON` / `OFF`."""
    return ON if on else OFF


def encode_protection(p: Protection) -> str:
    """JSON for `<id>/protection`; the ceilings only when known."""
    obj: dict[str, Any] = {
        "max_current": p.max_current,
        "max_power": p.max_power,
        "tripped": p.tripped,
    }
    if p.current_ceiling is not None:
        obj["current_ceiling"] = p.current_ceiling
    if p.power_ceiling is not None:
        obj["power_ceiling"] = p.power_ceiling
    return _dump(obj)


def encode_config(c: PlugConfig) -> str:
    """JSON for `<id>/config`."""
    return _dump({"interval": c.interval, "deadband": c.deadband, "restore": str(c.restore)})


def encode_event(e: PlugEvent) -> str:
    """JSON for `<id>/event`."""
    return _dump({"type": e.type, **e.data})


def encode_protection_command(cmd: ProtectionCommand) -> str:
    """JSON for `<id>/protection/set` with only the fields being changed."""
    obj: dict[str, Any] = {}
    if cmd.max_current is not None:
        obj["max_current"] = cmd.max_current
    if cmd.max_power is not None:
        obj["max_power"] = cmd.max_power
    if cmd.reset:
        obj["reset"] = True
    return _dump(obj)


def encode_config_command(cmd: ConfigCommand) -> str:
    """JSON for `<id>/config/set` with only the fields being changed."""
    obj: dict[str, Any] = {}
    if cmd.interval is not None:
        obj["interval"] = cmd.interval
    if cmd.deadband is not None:
        obj["deadband"] = cmd.deadband
    if cmd.restore is not None:
        obj["restore"] = str(cmd.restore)
    return _dump(obj)
