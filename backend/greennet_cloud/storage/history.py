"""Reading telemetry back: raw samples and rollups of one device, and hourly energy of many.

Every read is by (device seq, time range) on a primary key, so it is an index range scan
on both databases (and partition pruning on PostgreSQL): 720 hourly points of a month
cost the database a fraction of a millisecond. What costs is the Python per row, so the
two reads that answer charts and exports select only the columns they return, in the order
of the record they fill, fetch all rows in one call and build named tuples from them
(no ORM-style row objects, no frozen dataclasses: bench/RESULTS.md, telemetry).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import telemetry, telemetry_1d, telemetry_1h, telemetry_1m
from ..models import Sample

ROLLUPS: dict[str, tuple[Table, int]] = {
    "1m": (telemetry_1m, 60_000),
    "1h": (telemetry_1h, 3_600_000),
    "1d": (telemetry_1d, 86_400_000),
}


class RollupPoint(NamedTuple):
    """One bucket of a rollup: start (Unix ms), sample count, power min/avg/max, kWh used."""

    bucket: int
    samples: int
    power_min: float
    power_avg: float
    power_max: float
    energy: float


_RAW = select(
    telemetry.c.ts,
    telemetry.c.power,
    telemetry.c.voltage,
    telemetry.c.current,
    telemetry.c.energy,
    telemetry.c.relay,
)


def _rollup_select(table: Table) -> Select[int, int, float, float, float, float]:
    return select(
        table.c.bucket,
        table.c.samples,
        table.c.power_min,
        table.c.power_sum,
        table.c.power_max,
        table.c.energy,
    )


_ROLLUP = {name: _rollup_select(table) for name, (table, _step) in ROLLUPS.items()}


async def raw_samples(
    conn: AsyncConnection, seq: int, start: int, end: int, limit: int
) -> list[Sample]:
    """Samples of device `seq` with start <= ts < end, oldest first, at most `limit`."""
    result = await conn.execute(
        _RAW.where(telemetry.c.device_seq == seq, telemetry.c.ts >= start, telemetry.c.ts < end)
        .order_by(telemetry.c.ts)
        .limit(limit)
    )
    # relay: SQLite hands back 0/1, PostgreSQL a bool
    return [
        Sample(ts, power, voltage, current, energy, bool(relay))
        for ts, power, voltage, current, energy, relay in result.all()
    ]


async def rollup_points(
    conn: AsyncConnection, resolution: str, seq: int, start: int, end: int, limit: int
) -> list[RollupPoint]:
    """Buckets of device `seq` overlapping [start, end), oldest first, at most `limit`."""
    table, step = ROLLUPS[resolution]
    result = await conn.execute(
        _ROLLUP[resolution]
        .where(
            table.c.device_seq == seq,
            table.c.bucket >= start - start % step,
            table.c.bucket < end,
        )
        .order_by(table.c.bucket)
        .limit(limit)
    )
    return [
        RollupPoint(bucket, samples, power_min, power_sum / samples, power_max, energy)
        for bucket, samples, power_min, power_sum, power_max, energy in result.all()
    ]


async def hourly_energy(
    conn: AsyncConnection, seqs: Sequence[int], start: int, end: int
) -> list[tuple[int, float]]:
    """(hour start, kWh used) summed over devices `seqs`, for hours in [start, end)."""
    if not seqs:
        return []
    rows = await conn.execute(
        select(telemetry_1h.c.bucket, func.sum(telemetry_1h.c.energy))
        .where(
            telemetry_1h.c.device_seq.in_(list(seqs)),
            telemetry_1h.c.bucket >= start,
            telemetry_1h.c.bucket < end,
        )
        .group_by(telemetry_1h.c.bucket)
        .order_by(telemetry_1h.c.bucket)
    )
    return [(int(bucket), float(energy)) for bucket, energy in rows]
