"""Raw telemetry: batched, idempotent writes on (device, ts); PostgreSQL's daily partitions.

Samples are keyed by the device's `seq`; callers have already authorized the device. Writes
are one statement per batch: `executemany` of `INSERT … ON CONFLICT DO NOTHING` on SQLite
(inside the caller's one transaction), one multi-row `INSERT … SELECT FROM unnest(arrays)
… ON CONFLICT DO NOTHING` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import TELEMETRY_PARTITION_PREFIX, rollup_pending
from ..models import Sample

DAY_MS = 86_400_000
MINUTE_MS = 60_000
_PARTITION_LOCK = 0x6772_6E65_7401  # serializes partition DDL across processes

_PG_INSERT = text(
    "INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " SELECT * FROM unnest(CAST(:seq AS INTEGER[]), CAST(:ts AS BIGINT[]),"
    " CAST(:power AS DOUBLE PRECISION[]), CAST(:voltage AS DOUBLE PRECISION[]),"
    " CAST(:current AS DOUBLE PRECISION[]), CAST(:energy AS DOUBLE PRECISION[]),"
    " CAST(:relay AS BOOLEAN[]))"
    " ON CONFLICT DO NOTHING"
)


_SQLITE_INSERT = (
    "INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


async def insert_samples(conn: AsyncConnection, rows: Sequence[tuple[int, Sample]]) -> int:
    """Store (device seq, sample) rows; a row whose (device, ts) exists is skipped.

    Returns how many were new. `rows` must not repeat a (device, ts) pair.
    """
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        result = await conn.execute(
            _PG_INSERT,
            {
                "seq": [seq for seq, _ in rows],
                "ts": [sample.ts for _, sample in rows],
                "power": [sample.power for _, sample in rows],
                "voltage": [sample.voltage for _, sample in rows],
                "current": [sample.current for _, sample in rows],
                "energy": [sample.energy for _, sample in rows],
                "relay": [sample.relay for _, sample in rows],
            },
        )
        return int(result.rowcount)
    # straight to the driver's executemany: positional tuples, no per-row processing
    result = await conn.exec_driver_sql(
        _SQLITE_INSERT,
        [(seq, s.ts, s.power, s.voltage, s.current, s.energy, int(s.relay)) for seq, s in rows],
    )
    return int(result.rowcount)


async def mark_pending(conn: AsyncConnection, minutes: Iterable[tuple[int, int]]) -> None:
    """Note (device seq, minute start) buckets whose rollups the rollup job must redo."""
    values = [{"device_seq": seq, "bucket": bucket} for seq, bucket in sorted(set(minutes))]
    if not values:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await conn.execute(pg_insert(rollup_pending).on_conflict_do_nothing(), values)
    else:
        await conn.execute(sqlite_insert(rollup_pending).on_conflict_do_nothing(), values)


# --- PostgreSQL partitions -----------------------------------------------------------------


def day_of(ts_ms: int) -> int:
    """The UTC day (days since the epoch) a timestamp falls in."""
    return ts_ms // DAY_MS


def partition_name(day: int) -> str:
    """telemetry_pYYYYMMDD for a UTC day number."""
    return TELEMETRY_PARTITION_PREFIX + (
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)
    ).strftime("%Y%m%d")


async def existing_partition_days(conn: AsyncConnection) -> set[int]:
    """UTC days that have a telemetry partition (PostgreSQL)."""
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'telemetry'"
        )
    )
    days = set()
    for (name,) in rows:
        stamp = datetime.strptime(name[len(TELEMETRY_PARTITION_PREFIX) :], "%Y%m%d")
        days.add((stamp.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days)
    return days


async def create_partitions(conn: AsyncConnection, days: Iterable[int]) -> None:
    """Create the daily partitions of `days` that do not exist yet (PostgreSQL).

    Takes a transaction-level advisory lock so two processes never race on the catalog.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PARTITION_LOCK})
    have = await existing_partition_days(conn)
    for day in sorted(set(days) - have):
        await conn.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF telemetry'
                f" FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})"
            )
        )


async def drop_partitions_before(conn: AsyncConnection, day: int) -> list[str]:
    """Drop every partition that ends on or before the start of UTC day `day`."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PARTITION_LOCK})
    dropped = []
    for old in sorted(d for d in await existing_partition_days(conn) if d < day):
        name = partition_name(old)
        await conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
        dropped.append(name)
    return dropped
