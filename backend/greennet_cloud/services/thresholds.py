"""Thresholds per device: anyone who may read a device sees them; owners and `control`
shares create, change and delete them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.engine import reading
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Access, AlertState, Direction, Metric, QuietHours, RepeatPolicy, Threshold
from ..storage import alerts as alert_store
from ..storage import thresholds as threshold_store
from ..storage.thresholds import MIN_OFFLINE_SECONDS
from .alert_rules import parse_clock
from .base import Principal, Service, clean_name, new_id, require_access
from .devices import visible_device

MAX_PER_DEVICE = 20
MAX_DURATION_SECONDS = 7 * 24 * 3600
# the largest value a threshold may have, per metric (sanity, not physics)
MAX_VALUE = {
    Metric.POWER: 100_000.0,
    Metric.CURRENT: 1_000.0,
    Metric.VOLTAGE: 1_000.0,
    Metric.ENERGY_TODAY: 10_000.0,
    Metric.OFFLINE: 0.0,
}
UNITS = {
    Metric.POWER: "W",
    Metric.CURRENT: "A",
    Metric.VOLTAGE: "V",
    Metric.ENERGY_TODAY: "kWh",
    Metric.OFFLINE: "",
}
_UNSET = object()


@dataclass(frozen=True, slots=True)
class ThresholdChanges:
    """Fields of a create or update request; None: not given."""

    name: str | None = None
    metric: Metric | None = None
    direction: Direction | None = None
    value: float | None = None
    hysteresis: float | None = None
    duration_seconds: int | None = None
    repeat: RepeatPolicy | None = None
    quiet_hours: QuietHours | None | object = _UNSET  # None clears it
    enabled: bool | None = None


def default_name(metric: Metric, direction: Direction, value: float, duration: int) -> str:
    """A readable name for a threshold nobody named: "power above 2000 W"."""
    if metric is Metric.OFFLINE:
        return f"offline for {duration // 60} min"
    return f"{metric.value.replace('_', ' ')} {direction.value} {value:g} {UNITS[metric]}"


def _checked(threshold: Threshold) -> Threshold:
    """`InvalidInput` for anything a threshold may not be."""
    metric = threshold.metric
    if metric is Metric.OFFLINE:
        if threshold.duration_seconds < MIN_OFFLINE_SECONDS:
            raise InvalidInput(
                f"an offline threshold needs 'duration_seconds' of at least {MIN_OFFLINE_SECONDS}",
                "invalid_input",
            )
    else:
        if not math.isfinite(threshold.value) or not 0 <= threshold.value <= MAX_VALUE[metric]:
            raise InvalidInput(
                f"'value' must be from 0 to {MAX_VALUE[metric]:g} {UNITS[metric]}", "invalid_input"
            )
        if not math.isfinite(threshold.hysteresis) or not (
            0 <= threshold.hysteresis <= MAX_VALUE[metric]
        ):
            raise InvalidInput("'hysteresis' must be 0 or more", "invalid_input")
    if not 0 <= threshold.duration_seconds <= MAX_DURATION_SECONDS:
        raise InvalidInput(
            f"'duration_seconds' must be from 0 to {MAX_DURATION_SECONDS}", "invalid_input"
        )
    quiet = threshold.quiet_hours
    if quiet is not None:
        try:
            start, end = parse_clock(quiet.start), parse_clock(quiet.end)
        except ValueError:
            raise InvalidInput("quiet hours are HH:MM (24 h)", "invalid_input") from None
        if start == end:
            raise InvalidInput("quiet hours must not start when they end", "invalid_input")
    return threshold


class Thresholds(Service):
    """Threshold CRUD for the devices a caller may see."""

    async def list_thresholds(self, principal: Principal, device_id: str) -> list[Threshold]:
        """The thresholds of a device the caller may read."""
        async with reading(self.engine).begin() as conn:
            await visible_device(conn, principal, device_id)
            return await threshold_store.list_thresholds(conn, device_id)

    async def get_threshold(
        self, principal: Principal, device_id: str, threshold_id: str
    ) -> Threshold:
        """One threshold of a device the caller may read."""
        async with reading(self.engine).begin() as conn:
            await visible_device(conn, principal, device_id)
            return await self._found(conn, device_id, threshold_id)

    async def create_threshold(
        self, principal: Principal, device_id: str, spec: ThresholdChanges
    ) -> Threshold:
        """Add a threshold to a device (owner or `control`)."""
        if spec.metric is None:
            raise InvalidInput("'metric' is required", "invalid_input")
        offline = spec.metric is Metric.OFFLINE
        if spec.value is None and not offline:
            raise InvalidInput("'value' is required", "invalid_input")
        if spec.direction is None and not offline:
            raise InvalidInput("'direction' is required", "invalid_input")
        direction = spec.direction or Direction.ABOVE
        value = 0.0 if offline else float(spec.value or 0.0)
        duration = spec.duration_seconds if spec.duration_seconds is not None else 0
        now = self.now()
        quiet = spec.quiet_hours if isinstance(spec.quiet_hours, QuietHours) else None
        threshold = _checked(
            Threshold(
                id=new_id(),
                device_id=device_id,
                name=clean_name(spec.name, "name") if spec.name else default_name(
                    spec.metric, direction, value, duration
                ),
                metric=spec.metric,
                direction=direction,
                value=value,
                hysteresis=0.0 if offline else (spec.hysteresis or 0.0),
                duration_seconds=duration,
                repeat=spec.repeat or RepeatPolicy.ONCE,
                quiet_hours=quiet,
                enabled=True if spec.enabled is None else spec.enabled,
                created_at=now,
                updated_at=now,
            )
        )  # fmt: skip
        async with self.engine.begin() as conn:
            await self._require_control(conn, principal, device_id)
            if await threshold_store.count_thresholds(conn, device_id) >= MAX_PER_DEVICE:
                raise Conflict(
                    f"a device has at most {MAX_PER_DEVICE} thresholds", "too_many_thresholds"
                )
            await threshold_store.insert_threshold(conn, threshold)
        return threshold

    async def update_threshold(
        self, principal: Principal, device_id: str, threshold_id: str, changes: ThresholdChanges
    ) -> Threshold:
        """Change a threshold (owner or `control`); a changed rule starts a fresh wait."""
        async with self.engine.begin() as conn:
            await self._require_control(conn, principal, device_id)
            current = await self._found(conn, device_id, threshold_id, lock=True)
            given: dict[str, Any] = {}
            for field in dataclasses.fields(changes):
                value = getattr(changes, field.name)
                if value is not (_UNSET if field.name == "quiet_hours" else None):
                    given[field.name] = value
            if "metric" in given and (given["metric"] is Metric.OFFLINE) != (
                current.metric is Metric.OFFLINE
            ):
                raise InvalidInput(
                    "a threshold cannot change between offline and a value metric; make a new one",
                    "invalid_input",
                )
            if "name" in given:
                given["name"] = clean_name(given["name"], "name")
            rule = {"metric", "direction", "value", "hysteresis", "duration_seconds"}
            updated = _checked(
                dataclasses.replace(
                    current,
                    **given,
                    updated_at=self.now(),
                    pending_since=None if rule & given.keys() else current.pending_since,
                    armed=True if rule & given.keys() else current.armed,
                )
            )
            await threshold_store.save_threshold(conn, updated)
        return updated

    async def delete_threshold(
        self, principal: Principal, device_id: str, threshold_id: str
    ) -> None:
        """Remove a threshold (owner or `control`); its open alert is resolved by the caller."""
        now = self.now()
        async with self.engine.begin() as conn:
            await self._require_control(conn, principal, device_id)
            await self._found(conn, device_id, threshold_id, lock=True)
            still_open = await alert_store.open_alerts_of_thresholds(conn, [threshold_id])
            for alert in still_open.values():
                await alert_store.set_state(
                    conn, alert.id, AlertState.RESOLVED, at=now, user_id=principal.user_id,
                    expected=(AlertState.ACTIVE, AlertState.ACKNOWLEDGED),
                )  # fmt: skip
                await alert_store.add_event(
                    conn, alert.id, now, "resolved", "threshold deleted", principal.user_id
                )
            await threshold_store.delete_threshold(conn, device_id, threshold_id)

    @staticmethod
    async def _require_control(conn: AsyncConnection, principal: Principal, device_id: str) -> None:
        _device, access = await visible_device(conn, principal, device_id)
        require_access(access, Access.CONTROL, "change this device's thresholds")

    @staticmethod
    async def _found(
        conn: AsyncConnection, device_id: str, threshold_id: str, *, lock: bool = False
    ) -> Threshold:
        found = await threshold_store.get_threshold(conn, device_id, threshold_id, lock=lock)
        if found is None:
            raise NotFound("no such threshold", "not_found")
        return found
