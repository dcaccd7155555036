"""Alerts as people see them: listed and read by anyone who may read the device,
acknowledged and resolved by its owner and `control` shares; and what everyone who may read
the device is told when an alert is raised, reminded of or resolved."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..errors import Conflict, NotFound
from ..models import Access, Alert, AlertState, Metric, NotificationType
from ..storage import alerts as alert_store
from ..storage import thresholds as threshold_store
from ..storage.alerts import AlertFilter
from .base import Principal, Service, require_access
from .devices import visible_device
from .notifier import NotificationDraft, Notifier, Raised
from .thresholds import UNITS

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert that was raised, acknowledged or resolved (for the live socket)."""

    alert: Alert
    change: str  # raised / acknowledged / resolved


type AlertListener = Callable[[AlertChange], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AlertSubject:
    """The device an alert is about, as messages name it."""

    device_id: str
    device_name: str
    home_id: str
    owner_id: str
    zone: ZoneInfo
    seq: int  # the device's telemetry key


class AlertNews:
    """Tells people about alerts: notifications (in the caller's transaction) and the
    after-commit announcements to listeners."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.listeners: list[AlertListener] = []

    async def notify(
        self,
        conn: AsyncConnection,
        alert: Alert,
        subject: AlertSubject,
        kind: NotificationType,
        now: datetime,
        *,
        reminder: bool = False,
    ) -> Raised:
        """Notify everyone who may read the device (and its home's Home Assistant)."""
        _owner, readers = await alert_store.readers_of_device(conn, alert.device_id)
        draft = _draft(alert, subject, kind, reminder)
        return await self.notifier.notify(conn, readers, draft, now, home_owner_id=subject.owner_id)

    async def announce(self, raised: list[Raised], changes: list[AlertChange]) -> None:
        """After the commit: deliver notifications, tell listeners."""
        for item in raised:
            await self.notifier.announce(item)
        for change in changes:
            for listener in self.listeners:
                try:
                    await listener(change)
                except Exception:
                    _LOGGER.exception("alert listener failed")


def describe(alert: Alert, subject: AlertSubject) -> str:
    """ "power above 2000 W" / "offline"."""
    if alert.metric is Metric.OFFLINE:
        return "offline"
    metric = alert.metric.value.replace("_", " ")
    return f"{metric} {alert.direction.value} {alert.limit:g} {UNITS[alert.metric]}"


def _draft(
    alert: Alert, subject: AlertSubject, kind: NotificationType, reminder: bool
) -> NotificationDraft:
    local = alert.raised_at.astimezone(subject.zone).strftime("%H:%M %Z")
    what = describe(alert, subject)
    name = subject.device_name
    if kind is NotificationType.ALERT_RESOLVED:
        title = f"{name}: back to normal ({what} is over)"
        body = f"The alert “{name}: {what}” raised at {local} is resolved."
    elif alert.metric is Metric.OFFLINE:
        title = f"{name} is offline" + (" (still)" if reminder else "")
        body = f"{name} has sent no data since before {local}."
    else:
        unit = UNITS[alert.metric]
        title = f"{name}: {what}" + (" (still)" if reminder else "")
        body = (
            f"{name} reported {alert.value:g} {unit}, {alert.direction.value} the limit of"
            f" {alert.limit:g} {unit}, since {local}."
        )
    return NotificationDraft(
        type=kind,
        title=title,
        body=body,
        data={
            "alert_id": alert.id,
            "threshold_id": alert.threshold_id,
            "device_id": alert.device_id,
            "home_id": alert.home_id,
            "metric": alert.metric.value,
            "direction": alert.direction.value,
            "limit": alert.limit,
            "value": alert.value,
            "state": alert.state.value,
            "reminder": reminder,
        },
        home_id=subject.home_id,
    )


class Alerts(Service):
    """Listing, acknowledging and resolving alerts."""

    def __init__(self, engine: AsyncEngine, clock: Clock, news: AlertNews) -> None:
        super().__init__(engine, clock)
        self.news = news

    async def list_alerts(self, principal: Principal, where: AlertFilter) -> list[Alert]:
        """Alerts of the devices the caller may read, newest first."""
        async with reading(self.engine).begin() as conn:
            if where.device_id is not None:
                await visible_device(conn, principal, where.device_id)
            return await alert_store.list_alerts(conn, principal.user_id, where)

    async def get_alert(self, principal: Principal, alert_id: str) -> Alert:
        """One alert with its history."""
        async with reading(self.engine).begin() as conn:
            return await self._visible(conn, principal, alert_id)

    async def acknowledge(self, principal: Principal, alert_id: str) -> Alert:
        """Mark an active alert seen: no more reminders (owner or `control`)."""
        return await self._move(principal, alert_id, AlertState.ACKNOWLEDGED)

    async def resolve(self, principal: Principal, alert_id: str) -> Alert:
        """Close an open alert by hand (owner or `control`)."""
        return await self._move(principal, alert_id, AlertState.RESOLVED)

    async def _move(self, principal: Principal, alert_id: str, state: AlertState) -> Alert:
        now = self.now()
        expected = (
            (AlertState.ACTIVE,)
            if state is AlertState.ACKNOWLEDGED
            else (AlertState.ACTIVE, AlertState.ACKNOWLEDGED)
        )
        async with self.engine.begin() as conn:
            alert = await self._visible(conn, principal, alert_id)
            _device, access = await visible_device(conn, principal, alert.device_id)
            require_access(access, Access.CONTROL, f"mark this alert {state.value}")
            if not await alert_store.set_state(
                conn, alert_id, state, at=now, user_id=principal.user_id, expected=expected
            ):
                raise Conflict(f"the alert is {alert.state.value}", "alert_" + alert.state.value)
            await alert_store.add_event(conn, alert_id, now, state.value, "", principal.user_id)
            if state is AlertState.RESOLVED and alert.threshold_id is not None:
                # it may still be out of range: no new episode until it has been back
                await threshold_store.set_state(
                    conn, alert.threshold_id, pending_since=None, armed=False
                )
            moved = await self._visible(conn, principal, alert_id)
        await self.news.announce([], [AlertChange(moved, state.value)])
        return moved

    @staticmethod
    async def _visible(conn: AsyncConnection, principal: Principal, alert_id: str) -> Alert:
        found = await alert_store.get_alert(conn, principal.user_id, alert_id)
        if found is None:
            raise NotFound("no such alert", "not_found")
        return found
