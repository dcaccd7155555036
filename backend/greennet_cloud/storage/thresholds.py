"""Thresholds of a device (the caller has checked its access to the device)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import devices, thresholds
from ..db.sets import one_of
from ..models import Direction, Metric, QuietHours, RepeatPolicy, Threshold

MIN_OFFLINE_SECONDS = 60


def _threshold(row: Row[Any]) -> Threshold:
    quiet = (
        QuietHours(start=row.quiet_start, end=row.quiet_end)
        if row.quiet_start is not None and row.quiet_end is not None
        else None
    )
    return Threshold(
        id=row.id,
        device_id=row.device_id,
        name=row.name,
        metric=Metric(row.metric),
        direction=Direction(row.direction),
        value=row.value,
        hysteresis=row.hysteresis,
        duration_seconds=row.duration_seconds,
        repeat=RepeatPolicy(row.repeat),
        quiet_hours=quiet,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        updated_at=row.updated_at,
        pending_since=row.pending_since,
        armed=bool(row.armed),
    )


def _values(threshold: Threshold) -> dict[str, Any]:
    return {
        "name": threshold.name,
        "metric": threshold.metric.value,
        "direction": threshold.direction.value,
        "value": threshold.value,
        "hysteresis": threshold.hysteresis,
        "duration_seconds": threshold.duration_seconds,
        "repeat": threshold.repeat.value,
        "quiet_start": threshold.quiet_hours.start if threshold.quiet_hours else None,
        "quiet_end": threshold.quiet_hours.end if threshold.quiet_hours else None,
        "enabled": threshold.enabled,
        "updated_at": threshold.updated_at,
        "pending_since": threshold.pending_since,
        "armed": threshold.armed,
    }


async def insert_threshold(conn: AsyncConnection, threshold: Threshold) -> None:
    """Store a new threshold."""
    await conn.execute(
        thresholds.insert().values(
            id=threshold.id,
            device_id=threshold.device_id,
            created_at=threshold.created_at,
            **_values(threshold),
        )
    )


async def list_thresholds(conn: AsyncConnection, device_id: str) -> list[Threshold]:
    """Every threshold of a device, oldest first."""
    rows = await conn.execute(
        select(thresholds)
        .where(thresholds.c.device_id == device_id)
        .order_by(thresholds.c.created_at, thresholds.c.id)
    )
    return [_threshold(row) for row in rows]


async def count_thresholds(conn: AsyncConnection, device_id: str) -> int:
    """How many thresholds a device has."""
    query = select(func.count()).where(thresholds.c.device_id == device_id)
    return int((await conn.execute(query)).scalar_one())


async def get_threshold(
    conn: AsyncConnection, device_id: str, threshold_id: str, *, lock: bool = False
) -> Threshold | None:
    """One threshold of a device (row-locked until the transaction ends with `lock`)."""
    query = select(thresholds).where(
        thresholds.c.id == threshold_id, thresholds.c.device_id == device_id
    )
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _threshold(row) if row else None


async def save_threshold(conn: AsyncConnection, threshold: Threshold) -> None:
    """Write a changed threshold (its settings and evaluation state)."""
    await conn.execute(
        update(thresholds)
        .where(thresholds.c.id == threshold.id, thresholds.c.device_id == threshold.device_id)
        .values(**_values(threshold))
    )


async def set_state(
    conn: AsyncConnection, threshold_id: str, *, pending_since: datetime | None, armed: bool
) -> None:
    """Record a threshold's evaluation state."""
    await conn.execute(
        update(thresholds)
        .where(thresholds.c.id == threshold_id)
        .values(pending_since=pending_since, armed=armed)
    )


async def delete_threshold(conn: AsyncConnection, device_id: str, threshold_id: str) -> bool:
    """Remove a threshold of a device."""
    result = await conn.execute(
        delete(thresholds).where(
            thresholds.c.id == threshold_id, thresholds.c.device_id == device_id
        )
    )
    return result.rowcount > 0


async def enabled_for_devices(
    conn: AsyncConnection, device_ids: Iterable[str], *, lock: bool = False
) -> list[Threshold]:
    """Enabled thresholds of these devices, row-locked with `lock` (evaluation)."""
    ids = sorted(set(device_ids))
    if not ids:
        return []
    query = (
        select(thresholds)
        .where(one_of(conn, thresholds.c.device_id, ids), thresholds.c.enabled.is_(True))
        .order_by(thresholds.c.id)  # one lock order, so two evaluators cannot deadlock
    )
    if lock:
        query = query.with_for_update()
    return [_threshold(row) for row in await conn.execute(query)]


async def by_ids(conn: AsyncConnection, threshold_ids: Iterable[str]) -> list[Threshold]:
    """These thresholds (internal use: the caller holds alerts that name them)."""
    ids = sorted(set(threshold_ids))
    if not ids:
        return []
    rows = await conn.execute(select(thresholds).where(thresholds.c.id.in_(ids)))
    return [_threshold(row) for row in rows]


async def offline_candidates(
    conn: AsyncConnection, now: datetime
) -> list[tuple[Threshold, datetime]]:
    """Enabled offline thresholds whose device has been silent at least their duration,
    with the device's last-seen time."""
    rows = await conn.execute(
        select(thresholds, devices.c.last_seen_at)
        .join(devices, devices.c.id == thresholds.c.device_id)
        .where(
            thresholds.c.metric == Metric.OFFLINE.value,
            thresholds.c.enabled.is_(True),
            thresholds.c.armed.is_(True),
            # the shortest offline duration is a minute: skip devices seen since
            devices.c.last_seen_at <= now - timedelta(seconds=MIN_OFFLINE_SECONDS),
        )
        .order_by(thresholds.c.id)
    )
    found = []
    for row in rows:
        threshold = _threshold(row)
        silent = (now - row.last_seen_at).total_seconds()
        if silent >= threshold.duration_seconds:
            found.append((threshold, row.last_seen_at))
    return found
