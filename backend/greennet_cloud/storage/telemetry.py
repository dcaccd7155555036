"""Raw telemetry: batched, idempotent writes on (device, ts); PostgreSQL's daily partitions.

Samples are keyed by the device's `seq`; callers have already authorized the device. A
batch is one transaction: on SQLite `executemany` of `INSERT … ON CONFLICT DO NOTHING` (plus
the pending minutes and last-seen updates) on a synchronous connection in one worker
thread; on PostgreSQL one statement, a multi-row `INSERT … SELECT FROM unnest(arrays) … ON
CONFLICT DO NOTHING` whose RETURNING rows feed the pending minutes and last-seen updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import TELEMETRY_PARTITION_PREFIX, rollup_pending
from ..models import Sample

DAY_MS = 86_400_000
MINUTE_MS = 60_000
_PARTITION_LOCK = 0x6772_6E65_7401  # serializes partition DDL across processes

# PostgreSQL: the whole batch in one statement (one round trip): the new samples, the
# minutes they touch for the rollup job, and last_seen_at of devices that moved a step on
_PG_BATCH = text(
    "WITH ins AS ("
    " INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " SELECT * FROM unnest(CAST(:seq AS INTEGER[]), CAST(:ts AS BIGINT[]),"
    " CAST(:power AS DOUBLE PRECISION[]), CAST(:voltage AS DOUBLE PRECISION[]),"
    " CAST(:current AS DOUBLE PRECISION[]), CAST(:energy AS DOUBLE PRECISION[]),"
    " CAST(:relay AS BOOLEAN[]))"
    " ON CONFLICT DO NOTHING RETURNING device_seq, ts),"
    " pending AS (INSERT INTO rollup_pending (device_seq, bucket)"
    " SELECT DISTINCT device_seq, ts / 60000 * 60000 FROM ins ON CONFLICT DO NOTHING),"
    " newest AS (SELECT device_seq, to_timestamp(max(ts) / 1000.0) AS at FROM ins"
    " GROUP BY device_seq),"
    " seen AS (UPDATE devices SET last_seen_at = newest.at FROM newest"
    " WHERE devices.seq = newest.device_seq AND (devices.last_seen_at IS NULL"
    " OR devices.last_seen_at < newest.at - make_interval(secs => :step)))"
    " SELECT count(*) FROM ins"
)


async def write_batch_postgresql(
    conn: AsyncConnection, rows: Sequence[tuple[int, Sample]], seen_step_seconds: float
) -> int:
    """PostgreSQL: samples, pending minutes and last seen in one statement; new samples."""
    result = await conn.execute(
        _PG_BATCH,
        {
            "seq": [seq for seq, _ in rows],
            "ts": [sample.ts for _, sample in rows],
            "power": [sample.power for _, sample in rows],
            "voltage": [sample.voltage for _, sample in rows],
            "current": [sample.current for _, sample in rows],
            "energy": [sample.energy for _, sample in rows],
            "relay": [sample.relay for _, sample in rows],
            "step": seen_step_seconds,
        },
    )
    return int(result.scalar_one())


_SQLITE_INSERT = (
    "INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


_SQLITE_PENDING = (
    "INSERT INTO rollup_pending (device_seq, bucket) VALUES (?, ?) ON CONFLICT DO NOTHING"
)


def write_batch_sqlite(
    conn: Connection,
    rows: Sequence[tuple[int, Sample]],
    minutes: Iterable[tuple[int, int]],
    seen: dict[int, datetime],
) -> int:
    """SQLite: a whole batch (samples, pending minutes, last seen) on a synchronous
    connection, so the ingest service runs it in one worker-thread call instead of one
    thread hop per statement. Returns how many samples were new."""
    from . import devices as device_store

    result = conn.exec_driver_sql(
        _SQLITE_INSERT,
        [(seq, s.ts, s.power, s.voltage, s.current, s.energy, int(s.relay)) for seq, s in rows],
    )
    conn.exec_driver_sql(_SQLITE_PENDING, sorted(set(minutes)))
    if seen:
        conn.execute(device_store.SEEN_UPDATE, device_store.seen_params(seen))
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
