"""Reading telemetry back: raw samples and rollups of one device, and hourly energy of many.

Every read is by (device seq, time range) on a primary key, so it is an index range scan
on both databases (and partition pruning on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import telemetry, telemetry_1d, telemetry_1h, telemetry_1m
from ..models import Sample

ROLLUPS: dict[str, tuple[Table, int]] = {
    "1m": (telemetry_1m, 60_000),
    "1h": (telemetry_1h, 3_600_000),
    "1d": (telemetry_1d, 86_400_000),
}


@dataclass(frozen=True, slots=True)
class RollupPoint:
    """One bucket of a rollup: start (Unix ms), sample count, power min/avg/max, kWh used."""

    bucket: int
    samples: int
    power_min: float
    power_avg: float
    power_max: float
    energy: float


async def raw_samples(
    conn: AsyncConnection, seq: int, start: int, end: int, limit: int
) -> list[Sample]:
    """Samples of device `seq` with start <= ts < end, oldest first, at most `limit`."""
    rows = await conn.execute(
        select(
            telemetry.c.ts,
            telemetry.c.power,
            telemetry.c.voltage,
            telemetry.c.current,
            telemetry.c.energy,
            telemetry.c.relay,
        )
        .where(telemetry.c.device_seq == seq, telemetry.c.ts >= start, telemetry.c.ts < end)
        .order_by(telemetry.c.ts)
        .limit(limit)
    )
    return [
        Sample(
            ts=row.ts,
            power=row.power,
            voltage=row.voltage,
            current=row.current,
            energy=row.energy,
            relay=bool(row.relay),
        )
        for row in rows
    ]


async def rollup_points(
    conn: AsyncConnection, resolution: str, seq: int, start: int, end: int, limit: int
) -> list[RollupPoint]:
    """Buckets of device `seq` overlapping [start, end), oldest first, at most `limit`."""
    table, step = ROLLUPS[resolution]
    rows = await conn.execute(
        select(table)
        .where(
            table.c.device_seq == seq,
            table.c.bucket >= start - start % step,
            table.c.bucket < end,
        )
        .order_by(table.c.bucket)
        .limit(limit)
    )
    return [
        RollupPoint(
            bucket=row.bucket,
            samples=row.samples,
            power_min=row.power_min,
            power_avg=row.power_sum / row.samples,
            power_max=row.power_max,
            energy=row.energy,
        )
        for row in rows
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
