"""Thresholds evaluated on ingest, and the periodic check (once across processes): offline
devices, notifications held back by quiet hours, reminders. The rules are in
`alert_rules.py`; this module loads, decides, writes and tells people."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..models import Alert, AlertState, Metric, NotificationType, Threshold
from ..storage import alerts as alert_store
from ..storage import history as history_store
from ..storage import thresholds as threshold_store
from .alert_rules import decide, in_quiet_hours, notification_due
from .alerts import AlertChange, AlertNews, AlertSubject
from .base import Service, new_id
from .notifier import Raised

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reading:
    """A device's newest reading of a batch (`energy_today` None when unknown)."""

    device_id: str
    at: datetime
    power: float
    current: float
    voltage: float
    energy_today: float | None = None

    def value(self, metric: Metric) -> float | None:
        """The reading of `metric`."""
        return {
            Metric.POWER: self.power,
            Metric.CURRENT: self.current,
            Metric.VOLTAGE: self.voltage,
            Metric.ENERGY_TODAY: self.energy_today,
        }.get(metric)


@dataclass
class _Outcome:
    raised: list[Raised] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)


class AlertEvaluation(Service):
    """Raises and resolves alerts from readings and from time passing."""

    def __init__(self, engine: AsyncEngine, clock: Clock, news: AlertNews) -> None:
        super().__init__(engine, clock)
        self.news = news

    async def evaluate(self, readings: list[Reading]) -> None:
        """Apply readings (one per device) to the devices' enabled thresholds."""
        newest = {r.device_id: r for r in sorted(readings, key=lambda r: r.at)}
        if not newest:
            return
        async with reading(self.engine).begin() as conn:
            # most readings change nothing: find out without taking the write lock
            watched = await threshold_store.enabled_for_devices(conn, newest)
            if not watched:
                return
            open_ids = await alert_store.open_alerts_of_thresholds(conn, [t.id for t in watched])
        if not any(_may_change(t, newest[t.device_id], t.id in open_ids) for t in watched):
            return
        outcome = _Outcome()
        async with self.engine.begin() as conn:
            # again under the row locks: another process may have moved them meanwhile
            watched = await threshold_store.enabled_for_devices(conn, newest, lock=True)
            open_alerts = await alert_store.open_alerts_of_thresholds(conn, [t.id for t in watched])
            subjects = await _subjects(conn, newest)
            for threshold in watched:
                await self._apply(
                    conn,
                    threshold,
                    newest[threshold.device_id],
                    open_alerts.get(threshold.id),
                    subjects[threshold.device_id],
                    outcome,
                )
        await self.news.announce(outcome.raised, outcome.changes)

    async def run_checks(self) -> None:
        """The periodic job: offline thresholds, then notifications that are now due."""
        now = self.now()
        outcome = _Outcome()
        async with self.engine.begin() as conn:
            candidates = await threshold_store.offline_candidates(conn, now)
            open_alerts = await alert_store.open_alerts_of_thresholds(
                conn, [threshold.id for threshold, _seen in candidates]
            )
            silent = [(t, seen) for t, seen in candidates if t.id not in open_alerts]
            subjects = await _subjects(conn, [t.device_id for t, _seen in silent])
            for threshold, last_seen in silent:
                await self._raise(
                    conn, threshold, None, last_seen, subjects[threshold.device_id], outcome
                )
            await self._send_due(conn, now, outcome)
        await self.news.announce(outcome.raised, outcome.changes)

    async def _apply(
        self,
        conn: AsyncConnection,
        threshold: Threshold,
        latest: Reading,
        alert: Alert | None,
        subject: AlertSubject,
        outcome: _Outcome,
    ) -> None:
        if threshold.metric is Metric.OFFLINE:
            if alert is not None:  # it reported: it is back
                await self._resolve(conn, alert, subject, outcome, "reported again")
            if not threshold.armed:
                await threshold_store.set_state(conn, threshold.id, pending_since=None, armed=True)
            return
        value = latest.value(threshold.metric)
        if value is None and threshold.metric is Metric.ENERGY_TODAY:
            value = await energy_today(conn, subject, latest.at)
        if value is None:
            return
        decision = decide(threshold, alert is not None, value, latest.at)
        if (decision.pending_since, decision.armed) != (threshold.pending_since, threshold.armed):
            await threshold_store.set_state(
                conn, threshold.id, pending_since=decision.pending_since, armed=decision.armed
            )
        if decision.raise_alert:
            await self._raise(conn, threshold, value, latest.at, subject, outcome)
        elif decision.resolve_alert and alert is not None:
            await self._resolve(conn, alert, subject, outcome, f"back in range: {value:g}")

    async def _raise(
        self,
        conn: AsyncConnection,
        threshold: Threshold,
        value: float | None,
        since: datetime,
        subject: AlertSubject,
        outcome: _Outcome,
    ) -> None:
        now = self.now()
        alert = Alert(
            id=new_id(),
            threshold_id=threshold.id,
            device_id=threshold.device_id,
            home_id=subject.home_id,
            metric=threshold.metric,
            direction=threshold.direction,
            limit=threshold.value,
            state=AlertState.ACTIVE,
            value=value,
            raised_at=since if threshold.metric is Metric.OFFLINE else now,
            acknowledged_at=None,
            acknowledged_by=None,
            resolved_at=None,
            resolved_by=None,
            last_notified_at=None,
        )
        await alert_store.insert_alert(conn, alert)
        await alert_store.add_event(conn, alert.id, now, "raised", threshold.name)
        outcome.changes.append(AlertChange(alert, "raised"))
        if in_quiet_hours(threshold.quiet_hours, now, subject.zone):
            await alert_store.add_event(conn, alert.id, now, "held", "quiet hours")
            return
        await self._notify(conn, alert, subject, NotificationType.ALERT_RAISED, now, outcome)

    async def _resolve(
        self,
        conn: AsyncConnection,
        alert: Alert,
        subject: AlertSubject,
        outcome: _Outcome,
        why: str,
    ) -> None:
        now = self.now()
        if not await alert_store.set_state(
            conn, alert.id, AlertState.RESOLVED, at=now, user_id=None,
            expected=(AlertState.ACTIVE, AlertState.ACKNOWLEDGED),
        ):  # fmt: skip
            return
        await alert_store.add_event(conn, alert.id, now, "resolved", why)
        resolved = dataclasses.replace(alert, state=AlertState.RESOLVED, resolved_at=now)
        outcome.changes.append(AlertChange(resolved, "resolved"))
        # people hear that it is over only if they heard it began, and not at night
        found = await threshold_store.by_ids(conn, [alert.threshold_id or ""])
        quiet = found[0].quiet_hours if found else None
        if alert.last_notified_at is not None and not in_quiet_hours(quiet, now, subject.zone):
            outcome.raised.append(
                await self.news.notify(
                    conn, resolved, subject, NotificationType.ALERT_RESOLVED, now
                )
            )

    async def _send_due(self, conn: AsyncConnection, now: datetime, outcome: _Outcome) -> None:
        """Notifications held by quiet hours, and reminders by repeat policy."""
        open_alerts = await alert_store.open_alerts(conn)
        subjects = await _subjects(conn, [alert.device_id for alert in open_alerts])
        rules = {
            threshold.id: threshold
            for threshold in await threshold_store.by_ids(
                conn, [alert.threshold_id for alert in open_alerts if alert.threshold_id]
            )
        }
        for alert in open_alerts:
            threshold = rules.get(alert.threshold_id or "")
            if threshold is None:
                continue
            subject = subjects[alert.device_id]
            if notification_due(
                acknowledged=alert.state is AlertState.ACKNOWLEDGED,
                last_notified_at=alert.last_notified_at,
                repeat=threshold.repeat,
                quiet=threshold.quiet_hours,
                now=now,
                zone=subject.zone,
            ):
                await self._notify(
                    conn, alert, subject, NotificationType.ALERT_RAISED, now, outcome,
                    reminder=alert.last_notified_at is not None,
                )  # fmt: skip

    async def _notify(
        self,
        conn: AsyncConnection,
        alert: Alert,
        subject: AlertSubject,
        kind: NotificationType,
        now: datetime,
        outcome: _Outcome,
        *,
        reminder: bool = False,
    ) -> None:
        outcome.raised.append(
            await self.news.notify(conn, alert, subject, kind, now, reminder=reminder)
        )
        await alert_store.mark_notified(conn, alert.id, now)
        await alert_store.add_event(conn, alert.id, now, "reminded" if reminder else "notified")


def _may_change(threshold: Threshold, latest: Reading, alert_open: bool) -> bool:
    """Whether a reading could change a threshold's state (False: nothing to write)."""
    if threshold.metric is Metric.OFFLINE:
        return alert_open or not threshold.armed
    value = latest.value(threshold.metric)
    if value is None:
        return True  # energy today: only the rollups know
    decision = decide(threshold, alert_open, value, latest.at)
    return (
        decision.raise_alert
        or decision.resolve_alert
        or (decision.pending_since, decision.armed) != (threshold.pending_since, threshold.armed)
    )


async def _subjects(conn: AsyncConnection, device_ids: Iterable[str]) -> dict[str, AlertSubject]:
    found = await alert_store.device_subjects(conn, device_ids)
    return {
        device_id: AlertSubject(
            device_id, item.name, item.home_id, item.owner_id, ZoneInfo(item.timezone), item.seq
        )
        for device_id, item in found.items()
    }


async def energy_today(conn: AsyncConnection, subject: AlertSubject, now: datetime) -> float:
    """kWh the device used since local midnight in its home's zone, from the hourly rollups
    (which trail ingest by the rollup job's interval; counter resets are new cycles)."""
    midnight = datetime.combine(now.astimezone(subject.zone).date(), time(), tzinfo=subject.zone)
    hours = await history_store.hourly_energy(
        conn, [subject.seq], int(midnight.timestamp() * 1000), int(now.timestamp() * 1000) + 1
    )
    return sum(energy for _hour, energy in hours)
