"""Energy per day or month, per device or per home, in the home's time zone, with cost.

Days start at local midnight, so a day with a DST change has 23 or 25 hours; the hourly
rollups are summed into local days and months (zones with a half-hour offset are counted
by whole UTC hours). Energy in a rollup is the sum of counter increments, where a counter
that drops starts a new cycle: it is never negative.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.engine import reading
from ..errors import InvalidInput
from ..models import Home, Tariff
from ..storage import history as history_store
from ..storage import homes as home_store
from .base import Principal, Service
from .devices import visible_device
from .homes import visible_home

PERIODS = ("day", "month")
MAX_PERIODS = 1000  # per answer
EARLIEST = date(1971, 1, 1)
LATEST = date(2285, 12, 31)


@dataclass(frozen=True, slots=True)
class EnergyPeriod:
    """One local day or month: its first day, kWh used, and cost when there is a tariff."""

    start: date
    energy_kwh: float
    cost: float | None


@dataclass(frozen=True, slots=True)
class EnergyReport:
    """Energy over consecutive periods in `timezone`."""

    period: str
    timezone: str
    tariff: Tariff | None
    periods: list[EnergyPeriod]
    truncated: bool

    @property
    def total_kwh(self) -> float:
        """Energy over all periods."""
        return sum(item.energy_kwh for item in self.periods)


def period_starts(period: str, first: date, last: date) -> list[date]:
    """First days of the periods from `first`'s to `last`'s (inclusive), at most one more
    than MAX_PERIODS (so the caller can tell it truncated)."""
    if period not in PERIODS:
        raise InvalidInput("period must be day or month", "invalid_input")
    first, last = max(first, EARLIEST), min(last, LATEST)
    starts: list[date] = []
    current = first if period == "day" else first.replace(day=1)
    while current <= last and len(starts) <= MAX_PERIODS:
        starts.append(current)
        if period == "day":
            current += timedelta(days=1)
        else:
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return starts


def _after(period: str, start: date) -> date:
    if period == "day":
        return start + timedelta(days=1)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    """Unix ms of local midnight starting `day` in `zone`."""
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)


class EnergyReports(Service):
    """Energy and cost per local day or month."""

    async def for_device(
        self, principal: Principal, device_id: str, period: str, first: date | None,
        last: date | None,
    ) -> EnergyReport:  # fmt: skip
        """Energy of one device the caller may read, in its home's time zone."""
        async with reading(self.engine).begin() as conn:
            device, _access = await visible_device(conn, principal, device_id)
            home = await home_store.home_of_device(conn, device.home_id)
            assert home is not None
            return await self._report(conn, home, [device.seq], period, first, last)

    async def for_home(
        self, principal: Principal, home_id: str, period: str, first: date | None,
        last: date | None,
    ) -> EnergyReport:  # fmt: skip
        """Energy of every device in a home the caller may read."""
        async with reading(self.engine).begin() as conn:
            home, _access = await visible_home(conn, principal, home_id)
            seqs = await home_store.device_seqs(conn, home_id)
            return await self._report(conn, home, seqs, period, first, last)

    async def _report(
        self, conn: AsyncConnection, home: Home, seqs: list[int], period: str, first: date | None,
        last: date | None,
    ) -> EnergyReport:  # fmt: skip
        zone = ZoneInfo(home.timezone)
        today = self.now().astimezone(zone).date()
        if last is None:
            last = today
        if first is None:
            first = (
                last - timedelta(days=29)
                if period == "day"
                else date(last.year - 1 + (last.month == 12), last.month % 12 + 1, 1)
            )
        starts = period_starts(period, first, last)
        truncated = len(starts) > MAX_PERIODS
        starts = starts[:MAX_PERIODS]
        if not starts:
            return EnergyReport(period, home.timezone, home.tariff, [], False)
        bounds = [local_midnight_ms(start, zone) for start in starts]
        end = local_midnight_ms(_after(period, starts[-1]), zone)
        totals = [0.0] * len(starts)
        for hour, energy in await history_store.hourly_energy(conn, seqs, bounds[0], end):
            totals[bisect.bisect_right(bounds, hour) - 1] += energy
        price = home.tariff.price_per_kwh if home.tariff else None
        periods = [
            EnergyPeriod(start, kwh, None if price is None else round(kwh * price, 6))
            for start, kwh in zip(starts, totals, strict=True)
        ]
        return EnergyReport(period, home.timezone, home.tariff, periods, truncated)


def utc_hours(day: date, zone: ZoneInfo) -> float:
    """How long a local day is, in hours (23 or 25 on DST changes)."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return (end - start).total_seconds() / 3600
