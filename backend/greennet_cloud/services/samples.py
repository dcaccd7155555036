"""The ingest wire format, `{"samples": [{"ts", "power", "voltage", "current", "energy",
"relay"}, …]}` (the batch path adds `device_id`), parsed and checked sample by sample.

A bad sample is refused on its own, with its index and reason; the rest are kept. Ranges
are the MQTT contract's (`protocol.py`), so a sample the cloud accepts is one a plug may send.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import InvalidInput, PayloadTooLarge
from ..models import Sample
from ..protocol import (
    CURRENT_RANGE,
    ENERGY_RANGE,
    OFF,
    ON,
    POWER_RANGE,
    TS_RANGE,
    VOLTAGE_RANGE,
)

MAX_SAMPLES = 10_000  # per request; more is a 413 (split the batch)
MAX_FUTURE_MS = 300_000  # a clock may run a little fast, not more
MEASURES: dict[str, tuple[float, float]] = {
    "power": POWER_RANGE,
    "voltage": VOLTAGE_RANGE,
    "current": CURRENT_RANGE,
    "energy": ENERGY_RANGE,
}


@dataclass(frozen=True, slots=True)
class SampleError:
    """Why sample `index` of a request was refused."""

    index: int
    code: str
    message: str


@dataclass(slots=True)
class ParsedSample:
    """A valid sample, its index in the request and (batch path) the device it names.
    Not frozen: one is made per sample, and a frozen dataclass takes twice as long."""

    index: int
    device_key: str | None
    sample: Sample


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode_body(raw: bytes) -> list[Any]:
    """The `samples` array of a raw body. NaN/Infinity literals stay in, as non-finite
    numbers the per-sample checks refuse; an unreadable envelope is a 400 for the request.

    orjson reads it (a fifth of the standard library's time); what orjson refuses (NaN and
    Infinity literals, a byte order mark, lone surrogates, integers past 64 bits, nesting
    past 1024) goes to the standard library, so the answer is the same either way."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            body = json.loads(raw, parse_constant=lambda name: float(name.lower().lstrip("-")))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidInput("the body is not valid JSON", "invalid_json") from None
    if not isinstance(body, dict) or not isinstance(body.get("samples"), list):
        raise InvalidInput('the body must be {"samples": [...]}', "invalid_input")
    samples: list[Any] = body["samples"]
    if len(samples) > MAX_SAMPLES:
        raise PayloadTooLarge(f"at most {MAX_SAMPLES} samples per request; split the batch")
    return samples


def parse_samples(
    items: list[Any],
    *,
    now_ms: int,
    oldest_ms: int,
    with_device: bool,
    device_field: str = "device_id",
) -> tuple[list[ParsedSample], list[SampleError]]:
    """Check every sample; return the good ones and one error per bad one.

    `oldest_ms`: samples before it would fall outside raw retention and are refused.
    `with_device`: the batch path, where each sample names its device in `device_field`
    (`device_id` over HTTP, `plug_id` on the HA link).
    """
    good: list[ParsedSample] = []
    errors: list[SampleError] = []
    field = device_field if with_device else None
    for index, item in enumerate(items):
        try:
            good.append(_parse_one(index, item, now_ms, oldest_ms, field))
        except _Refused as refused:
            errors.append(SampleError(index, refused.code, refused.message))
    return good, errors


def _parse_one(
    index: int, item: Any, now_ms: int, oldest_ms: int, device_field: str | None
) -> ParsedSample:
    if not isinstance(item, dict):
        raise _Refused("invalid_sample", "a sample must be a JSON object")
    device_key = None
    if device_field is not None:
        device_key = item.get(device_field)
        if not isinstance(device_key, str) or not 0 < len(device_key) <= 64:
            raise _Refused("invalid_sample", f"'{device_field}' must name a plug of this home")
    fast = _fast_path(index, item, device_key, now_ms, oldest_ms)
    if fast is not None:
        return fast
    ts = item.get("ts")
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise _Refused("invalid_sample", "'ts' must be an integer (Unix milliseconds)")
    if not TS_RANGE[0] <= ts <= TS_RANGE[1]:
        raise _Refused("out_of_range", "'ts' must be Unix milliseconds (13 digits)")
    if ts > now_ms + MAX_FUTURE_MS:
        raise _Refused("in_future", "'ts' is more than 300 s ahead of the server's clock")
    if ts < oldest_ms:
        raise _Refused("too_old", "'ts' is older than raw telemetry is kept")
    values = {name: _measure(item, name, bounds) for name, bounds in MEASURES.items()}
    relay = item.get("relay")
    if relay not in (ON, OFF):
        raise _Refused("invalid_sample", f"'relay' must be {ON!r} or {OFF!r}")
    sample = Sample(ts=ts, relay=relay == ON, **values)
    return ParsedSample(index=index, device_key=device_key, sample=sample)


_P_LO, _P_HI = POWER_RANGE
_V_LO, _V_HI = VOLTAGE_RANGE
_C_LO, _C_HI = CURRENT_RANGE
_E_LO, _E_HI = ENERGY_RANGE


def _fast_path(
    index: int, item: dict[str, Any], device_key: str | None, now_ms: int, oldest_ms: int
) -> ParsedSample | None:
    """The common case (every field present, floats in range) checked in one go; None
    sends anything else through the field-by-field checks that name the problem."""
    ts = item.get("ts")
    power = item.get("power")
    voltage = item.get("voltage")
    current = item.get("current")
    energy = item.get("energy")
    relay = item.get("relay")
    if (
        type(ts) is int
        and oldest_ms <= ts <= now_ms + MAX_FUTURE_MS
        and TS_RANGE[0] <= ts <= TS_RANGE[1]
        and type(power) is float
        and _P_LO <= power <= _P_HI  # NaN fails every comparison: slow path
        and type(voltage) is float
        and _V_LO <= voltage <= _V_HI
        and type(current) is float
        and _C_LO <= current <= _C_HI
        and type(energy) is float
        and _E_LO <= energy <= _E_HI
        and relay in (ON, OFF)
    ):
        sample = Sample(ts, power, voltage, current, energy, relay == ON)
        return ParsedSample(index, device_key, sample)
    return None


def _measure(item: dict[str, Any], name: str, bounds: tuple[float, float]) -> float:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused("invalid_sample", f"'{name}' must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise _Refused("out_of_range", f"'{name}' is out of range") from None
    if not math.isfinite(number):
        raise _Refused("not_finite", f"'{name}' must be a finite number")
    if not bounds[0] <= number <= bounds[1]:
        raise _Refused("out_of_range", f"'{name}' must be from {bounds[0]:g} to {bounds[1]:g}")
    return number
