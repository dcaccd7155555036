"""Thresholds and alerts → JSON-ready dicts (the shapes of schemas_alerts.py)."""

from __future__ import annotations

from typing import Any

from ..models import Alert, Metric, Threshold
from .serialize import timestamp


def threshold_json(threshold: Threshold) -> dict[str, Any]:
    """A threshold (offline ones have no value, direction or hysteresis)."""
    offline = threshold.metric is Metric.OFFLINE
    quiet = threshold.quiet_hours
    return {
        "id": threshold.id,
        "device_id": threshold.device_id,
        "name": threshold.name,
        "metric": threshold.metric.value,
        "direction": None if offline else threshold.direction.value,
        "value": None if offline else threshold.value,
        "hysteresis": None if offline else threshold.hysteresis,
        "duration_seconds": threshold.duration_seconds,
        "repeat": threshold.repeat.value,
        "quiet_hours": {"start": quiet.start, "end": quiet.end} if quiet else None,
        "enabled": threshold.enabled,
        "created_at": timestamp(threshold.created_at),
        "updated_at": timestamp(threshold.updated_at),
    }


def alert_json(alert: Alert, *, with_history: bool = False) -> dict[str, Any]:
    """An alert; with its history on the single-alert routes."""
    offline = alert.metric is Metric.OFFLINE
    data: dict[str, Any] = {
        "id": alert.id,
        "threshold_id": alert.threshold_id,
        "device_id": alert.device_id,
        "home_id": alert.home_id,
        "metric": alert.metric.value,
        "direction": None if offline else alert.direction.value,
        "limit": None if offline else alert.limit,
        "value": alert.value,
        "state": alert.state.value,
        "raised_at": timestamp(alert.raised_at),
        "acknowledged_at": timestamp(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": timestamp(alert.resolved_at),
        "resolved_by": alert.resolved_by,
    }
    if with_history:
        data["history"] = [
            {"at": timestamp(event.at), "kind": event.kind, "user_id": event.user_id,
             "detail": event.detail}
            for event in alert.history
        ]  # fmt: skip
    return data
