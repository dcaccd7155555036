"""Alerts and their history. Reads are scoped to the devices a user may read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import alert_events, alerts, devices, homes, shares
from ..models import Alert, AlertEvent, AlertState, Direction, Metric

OPEN = (AlertState.ACTIVE.value, AlertState.ACKNOWLEDGED.value)


def readable_device_ids(user_id: str) -> Select[Any]:
    """Ids of the devices `user_id` may read: in homes they own or that are shared with them,
    or shared with them one by one."""
    home_shares = select(shares.c.home_id).where(
        shares.c.grantee_id == user_id, shares.c.home_id.is_not(None)
    )
    device_shares = select(shares.c.device_id).where(
        shares.c.grantee_id == user_id, shares.c.device_id.is_not(None)
    )
    owned_homes = select(homes.c.id).where(homes.c.owner_id == user_id)
    return select(devices.c.id).where(
        or_(
            devices.c.home_id.in_(owned_homes),
            devices.c.home_id.in_(home_shares),
            devices.c.id.in_(device_shares),
        )
    )


_listed = select(alerts, devices.c.home_id).join(devices, devices.c.id == alerts.c.device_id)


def _alert(row: Row[Any], history: tuple[AlertEvent, ...] = ()) -> Alert:
    return Alert(
        id=row.id,
        threshold_id=row.threshold_id,
        device_id=row.device_id,
        home_id=row.home_id,
        metric=Metric(row.metric),
        direction=Direction(row.direction),
        limit=row.limit_value,
        state=AlertState(row.state),
        value=row.value,
        raised_at=row.raised_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        last_notified_at=row.last_notified_at,
        history=history,
    )


async def insert_alert(conn: AsyncConnection, alert: Alert) -> None:
    """Store a new alert."""
    await conn.execute(
        alerts.insert().values(
            id=alert.id,
            threshold_id=alert.threshold_id,
            device_id=alert.device_id,
            metric=alert.metric.value,
            direction=alert.direction.value,
            limit_value=alert.limit,
            state=alert.state.value,
            value=alert.value,
            raised_at=alert.raised_at,
            last_notified_at=alert.last_notified_at,
        )
    )


async def add_event(
    conn: AsyncConnection,
    alert_id: str,
    at: datetime,
    kind: str,
    detail: str = "",
    user_id: str | None = None,
) -> None:
    """Append a step to an alert's history."""
    await conn.execute(
        alert_events.insert().values(
            alert_id=alert_id, at=at, kind=kind, user_id=user_id, detail=detail[:200]
        )
    )


async def open_alerts_of_thresholds(
    conn: AsyncConnection, threshold_ids: Iterable[str]
) -> dict[str, Alert]:
    """The open (active or acknowledged) alert of each of these thresholds that has one."""
    ids = list(threshold_ids)
    if not ids:
        return {}
    rows = await conn.execute(
        _listed.where(alerts.c.threshold_id.in_(ids), alerts.c.state.in_(OPEN))
    )
    return {row.threshold_id: _alert(row) for row in rows}


async def open_alerts(conn: AsyncConnection) -> list[Alert]:
    """Every open alert (for reminders and deferred notifications)."""
    rows = await conn.execute(_listed.where(alerts.c.state.in_(OPEN)).order_by(alerts.c.id))
    return [_alert(row) for row in rows]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What `GET /api/v1/alerts` may narrow by."""

    state: AlertState | None = None
    device_id: str | None = None
    home_id: str | None = None
    since: datetime | None = None  # raised at or after
    until: datetime | None = None  # raised before
    limit: int = 50


async def list_alerts(conn: AsyncConnection, user_id: str, where: AlertFilter) -> list[Alert]:
    """Alerts of devices `user_id` may read, newest first."""
    query = _listed.where(alerts.c.device_id.in_(readable_device_ids(user_id)))
    if where.state is not None:
        query = query.where(alerts.c.state == where.state.value)
    if where.device_id is not None:
        query = query.where(alerts.c.device_id == where.device_id)
    if where.home_id is not None:
        query = query.where(devices.c.home_id == where.home_id)
    if where.since is not None:
        query = query.where(alerts.c.raised_at >= where.since)
    if where.until is not None:
        query = query.where(alerts.c.raised_at < where.until)
    query = query.order_by(alerts.c.raised_at.desc(), alerts.c.id.desc()).limit(where.limit)
    return [_alert(row) for row in await conn.execute(query)]


async def get_alert(conn: AsyncConnection, user_id: str, alert_id: str) -> Alert | None:
    """One alert, with its history, if `user_id` may read its device."""
    row = (
        await conn.execute(
            _listed.where(
                alerts.c.id == alert_id, alerts.c.device_id.in_(readable_device_ids(user_id))
            )
        )
    ).first()
    if row is None:
        return None
    events = await conn.execute(
        select(alert_events)
        .where(alert_events.c.alert_id == alert_id)
        .order_by(alert_events.c.at, alert_events.c.id)
    )
    history = tuple(
        AlertEvent(at=e.at, kind=e.kind, user_id=e.user_id, detail=e.detail) for e in events
    )
    return _alert(row, history)


async def set_state(
    conn: AsyncConnection,
    alert_id: str,
    state: AlertState,
    *,
    at: datetime,
    user_id: str | None,
    expected: Iterable[AlertState],
) -> bool:
    """Move an alert to `state` if it is in one of the `expected` states (compare-and-set)."""
    values: dict[str, Any] = {"state": state.value}
    if state is AlertState.ACKNOWLEDGED:
        values |= {"acknowledged_at": at, "acknowledged_by": user_id}
    elif state is AlertState.RESOLVED:
        values |= {"resolved_at": at, "resolved_by": user_id}
    result = await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state.in_([s.value for s in expected]))
        .values(**values)
    )
    return result.rowcount == 1


async def mark_notified(conn: AsyncConnection, alert_id: str, at: datetime) -> None:
    """Record that an alert's people were just told."""
    await conn.execute(update(alerts).where(alerts.c.id == alert_id).values(last_notified_at=at))


async def readers_of_device(conn: AsyncConnection, device_id: str) -> tuple[str, list[str]]:
    """The home owner of a device and everyone who may read it (owner included)."""
    row = (
        await conn.execute(
            select(devices.c.home_id, homes.c.owner_id)
            .join(homes, homes.c.id == devices.c.home_id)
            .where(devices.c.id == device_id)
        )
    ).one()
    grantees = await conn.execute(
        select(shares.c.grantee_id).where(
            or_(shares.c.home_id == row.home_id, shares.c.device_id == device_id)
        )
    )
    return row.owner_id, sorted({row.owner_id, *(g.grantee_id for g in grantees)})


@dataclass(frozen=True, slots=True)
class DeviceSubject:
    """What alerts need to know about a device and its home."""

    seq: int
    name: str
    home_id: str
    owner_id: str
    timezone: str


async def device_subjects(
    conn: AsyncConnection, device_ids: Iterable[str]
) -> dict[str, DeviceSubject]:
    """Each device's telemetry key, name, home, home owner and home time zone."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(
            devices.c.id, devices.c.seq, devices.c.name, devices.c.home_id, homes.c.owner_id,
            homes.c.timezone,
        )
        .join(homes, homes.c.id == devices.c.home_id)
        .where(devices.c.id.in_(ids))
    )  # fmt: skip
    return {
        row.id: DeviceSubject(row.seq, row.name, row.home_id, row.owner_id, row.timezone)
        for row in rows
    }
