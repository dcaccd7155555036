"""The rules of thresholds and alerts as plain functions of time and values (no I/O), so
each can be checked on its own with a moved clock.

- A reading is out of range when it is above (below) the value. A threshold raises an alert
  once its readings have been out of range for `duration_seconds` without a break; a reading
  back in range (even by a hair) restarts the wait.
- An open alert resolves on its own when a reading is back in range by the hysteresis:
  at or below value - hysteresis for `above`, at or above value + hysteresis for `below`.
  Readings in between keep it open, so a value hovering at the limit does not flap.
- Resolved by hand while still out of range, a threshold waits for a reading back in range
  (by the hysteresis) before a new episode can start, instead of raising again at once.
- Offline: raised when the device has sent nothing for `duration_seconds`, resolved by
  the next reading.
- Repeat: an active (not acknowledged) alert is notified again every hour or day while it
  lasts, or never (`once`: once per episode). Acknowledging silences it.
- Quiet hours: a daily window in the home's time zone when nobody is notified; an alert
  raised then is notified when the window ends if it is still open, and reminders wait too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import Direction, QuietHours, RepeatPolicy, Threshold

REPEAT_INTERVALS = {
    RepeatPolicy.ONCE: None,
    RepeatPolicy.HOURLY: timedelta(hours=1),
    RepeatPolicy.DAILY: timedelta(days=1),
}


def out_of_range(threshold: Threshold, value: float) -> bool:
    """Whether `value` breaks the threshold."""
    if threshold.direction is Direction.ABOVE:
        return value > threshold.value
    return value < threshold.value


def back_in_range(threshold: Threshold, value: float) -> bool:
    """Whether `value` is back in range by the hysteresis (an open alert resolves)."""
    if threshold.direction is Direction.ABOVE:
        return value <= threshold.value - threshold.hysteresis
    return value >= threshold.value + threshold.hysteresis


@dataclass(frozen=True, slots=True)
class Decision:
    """What one reading does to a threshold: its new pending state, raise or resolve."""

    pending_since: datetime | None
    armed: bool = True
    raise_alert: bool = False
    resolve_alert: bool = False


def decide(threshold: Threshold, alert_open: bool, value: float, at: datetime) -> Decision:
    """The effect of a reading of `value` at `at` on a value threshold."""
    if alert_open:
        if back_in_range(threshold, value):
            return Decision(pending_since=None, resolve_alert=True)
        return Decision(pending_since=threshold.pending_since)
    if not threshold.armed:  # resolved by hand while out of range: wait until it is back
        return Decision(pending_since=None, armed=back_in_range(threshold, value))
    if not out_of_range(threshold, value):
        return Decision(pending_since=None)
    since = threshold.pending_since if threshold.pending_since is not None else at
    since = min(since, at)
    held = at - since >= timedelta(seconds=threshold.duration_seconds)
    return Decision(pending_since=None if held else since, raise_alert=held)


def offline_since(last_seen: datetime | None, duration_seconds: int, now: datetime) -> bool:
    """Whether a device last seen at `last_seen` is offline for an offline threshold."""
    return last_seen is not None and now - last_seen >= timedelta(seconds=duration_seconds)


def parse_clock(text: str) -> time:
    """`HH:MM` (24 h) as a time; ValueError otherwise."""
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        raise ValueError(text)
    return time(int(text[:2]), int(text[3:]))


def in_quiet_hours(quiet: QuietHours | None, at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` falls in the daily quiet window (local time of `zone`)."""
    if quiet is None:
        return False
    start, end, local = parse_clock(quiet.start), parse_clock(quiet.end), at.astimezone(zone)
    now = local.time().replace(second=0, microsecond=0, tzinfo=None)
    if start < end:
        return start <= now < end
    return now >= start or now < end  # the window spans midnight


def notification_due(
    *,
    acknowledged: bool,
    last_notified_at: datetime | None,
    repeat: RepeatPolicy,
    quiet: QuietHours | None,
    now: datetime,
    zone: ZoneInfo,
) -> bool:
    """Whether an open alert should be notified now: never yet (deferred by quiet hours),
    or a reminder is due by its repeat policy; never in quiet hours."""
    if in_quiet_hours(quiet, now, zone):
        return False
    if last_notified_at is None:
        return True
    interval = REPEAT_INTERVALS[repeat]
    return not acknowledged and interval is not None and now - last_notified_at >= interval
