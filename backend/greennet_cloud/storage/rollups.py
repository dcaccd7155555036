"""Rollups, recomputed from the level below for exactly the buckets that changed.

Minutes come from raw samples, hours from minutes, days from hours. A bucket's energy is
the sum of each sample's counter increment over the sample before it (which may lie in an
earlier bucket); a counter that drops (a reset, a new plug) starts a new cycle, so its
increment is the new reading itself, never negative. A late sample changes its own minute
and the next sample's increment, so a recomputed run of minutes is extended to the minute
of the first sample after it.
"""

from __future__ import annotations

from sqlalchemy import Table, delete, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import rollup_pending, telemetry, telemetry_1d, telemetry_1h, telemetry_1m
from .telemetry import MINUTE_MS

HOUR_MS = 3_600_000
DAY_MS = 86_400_000

_MINUTES = text(
    "WITH s AS ("
    " SELECT ts, power, energy, LAG(energy) OVER (ORDER BY ts) AS prev FROM telemetry"
    " WHERE device_seq = :seq AND ts >= :since AND ts < :hi)"
    " SELECT ts / 60000 * 60000 AS bucket, count(*) AS samples, min(power) AS power_min,"
    " max(power) AS power_max, sum(power) AS power_sum,"
    " sum(CASE WHEN prev IS NULL THEN 0 WHEN energy >= prev THEN energy - prev"
    " ELSE energy END) AS energy"
    " FROM s WHERE ts >= :lo GROUP BY ts / 60000 * 60000"
)


_HOURS = text(
    "SELECT bucket / 3600000 * 3600000 AS bucket, sum(samples) AS samples,"
    " min(power_min) AS power_min, max(power_max) AS power_max, sum(power_sum) AS power_sum,"
    " sum(energy) AS energy FROM telemetry_1m"
    " WHERE device_seq = :seq AND bucket >= :lo AND bucket < :hi"
    " GROUP BY bucket / 3600000 * 3600000"
)
_DAYS = text(
    "SELECT bucket / 86400000 * 86400000 AS bucket, sum(samples) AS samples,"
    " min(power_min) AS power_min, max(power_max) AS power_max, sum(power_sum) AS power_sum,"
    " sum(energy) AS energy FROM telemetry_1h"
    " WHERE device_seq = :seq AND bucket >= :lo AND bucket < :hi"
    " GROUP BY bucket / 86400000 * 86400000"
)


async def pending_devices(conn: AsyncConnection) -> list[int]:
    """The devices (seq) with pending minutes, in order."""
    rows = await conn.execute(
        select(rollup_pending.c.device_seq).distinct().order_by(rollup_pending.c.device_seq)
    )
    return [int(seq) for seq in rows.scalars()]


async def claim_pending(
    conn: AsyncConnection, limit: int, devices: list[int] | None = None
) -> list[tuple[int, int]]:
    """Take up to `limit` pending (device seq, minute) marks off the list, oldest first; of
    `devices` only, when given.

    Deleted before the recompute, in the same transaction: an ingest that commits after
    this statement marks its minute again, so no sample is ever missed.
    """
    oldest = select(rollup_pending.c.device_seq, rollup_pending.c.bucket)
    if devices is not None:
        oldest = oldest.where(rollup_pending.c.device_seq.in_(devices))
    oldest = oldest.order_by(rollup_pending.c.device_seq, rollup_pending.c.bucket).limit(limit)
    rows = await conn.execute(
        delete(rollup_pending)
        .where(tuple_(rollup_pending.c.device_seq, rollup_pending.c.bucket).in_(oldest))
        .returning(rollup_pending.c.device_seq, rollup_pending.c.bucket)
    )
    return sorted((int(seq), int(bucket)) for seq, bucket in rows)


async def next_sample_after(conn: AsyncConnection, seq: int, ts: int) -> int | None:
    """The first sample time at or after `ts` (its increment depends on what precedes it)."""
    found = await conn.execute(
        select(telemetry.c.ts)
        .where(telemetry.c.device_seq == seq, telemetry.c.ts >= ts)
        .order_by(telemetry.c.ts)
        .limit(1)
    )
    return found.scalar_one_or_none()


async def recompute(conn: AsyncConnection, seq: int, lo: int, hi: int) -> None:
    """Redo minutes [lo, hi) of device `seq` from raw data, then their hours and days."""
    before = await conn.execute(
        select(telemetry.c.ts)
        .where(telemetry.c.device_seq == seq, telemetry.c.ts < lo)
        .order_by(telemetry.c.ts.desc())
        .limit(1)
    )
    since = before.scalar_one_or_none()
    params = {"seq": seq, "lo": lo, "hi": hi, "since": lo if since is None else since}
    await _replace(conn, telemetry_1m, seq, lo, hi, _MINUTES, params)
    hour_lo, hour_hi = lo - lo % HOUR_MS, -(-hi // HOUR_MS) * HOUR_MS
    hours = {"seq": seq, "lo": hour_lo, "hi": hour_hi}
    await _replace(conn, telemetry_1h, seq, hour_lo, hour_hi, _HOURS, hours)
    day_lo, day_hi = lo - lo % DAY_MS, -(-hi // DAY_MS) * DAY_MS
    days = {"seq": seq, "lo": day_lo, "hi": day_hi}
    await _replace(conn, telemetry_1d, seq, day_lo, day_hi, _DAYS, days)


async def _replace(
    conn: AsyncConnection,
    table: Table,
    seq: int,
    lo: int,
    hi: int,
    query: object,
    params: dict[str, int],
) -> None:
    rows = [dict(row._mapping) for row in await conn.execute(query, params)]  # type: ignore[call-overload]
    await conn.execute(
        delete(table).where(table.c.device_seq == seq, table.c.bucket >= lo, table.c.bucket < hi)
    )
    if rows:
        await conn.execute(table.insert(), [{"device_seq": seq, **row} for row in rows])


def minute_runs(minutes: list[int]) -> list[tuple[int, int]]:
    """Sorted minute starts → contiguous [lo, hi) runs."""
    runs: list[tuple[int, int]] = []
    for minute in sorted(set(minutes)):
        if runs and runs[-1][1] == minute:
            runs[-1] = (runs[-1][0], minute + MINUTE_MS)
        else:
            runs.append((minute, minute + MINUTE_MS))
    return runs
