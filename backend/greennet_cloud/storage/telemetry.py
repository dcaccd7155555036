"""Raw telemetry: batched, idempotent writes on (device, ts); PostgreSQL's daily partitions.

Samples are keyed by the device's `seq`; callers have already authorized the device and
turned each sample into a `TelemetryRow`. A batch is one transaction that writes the new
samples, marks the minutes they touch for the rollup job (`rollup_pending`) and moves
`last_seen_at` of the devices the caller names. Both databases are driven at the driver
level, since per-row work in SQLAlchemy cost more than the database's own (bench/RESULTS.md):

- SQLite: `executemany` of `INSERT … ON CONFLICT DO NOTHING` (plus the minutes and the
  last-seen updates) on a synchronous connection, all in one worker-thread call;
- PostgreSQL: binary `COPY` straight into `telemetry` (as fast as the bare driver gets),
  the minutes and last-seen in one more statement. A batch holding a sample that is already
  stored makes `COPY` fail on the primary key; it is then written again from a `COPY` into a
  temporary staging table with `INSERT … SELECT … ON CONFLICT DO NOTHING`, whose RETURNING
  rows pick the minutes and last-seen updates. Duplicates are the exception (a hub retrying
  a batch), so they pay for the second pass, not every batch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Connection, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.schema import TELEMETRY_PARTITION_PREFIX, devices, rollup_pending

DAY_MS = 86_400_000
MINUTE_MS = 60_000
_PARTITION_LOCK = 0x6772_6E65_7401  # serializes partition DDL across processes

# (device_seq, ts, power, voltage, current, energy, relay): a sample as the driver takes it
type TelemetryRow = tuple[int, int, float, float, float, float, bool]
COLUMNS = ("device_seq", "ts", "power", "voltage", "current", "energy", "relay")


# --- SQLite ----------------------------------------------------------------------------

_SQLITE_INSERT = (
    "INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_SQLITE_PENDING = (
    "INSERT INTO rollup_pending (device_seq, bucket) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
# last_seen_at only ever moves forward, and by at least the step (:at - step)
_SQLITE_SEEN = (
    "UPDATE devices SET last_seen_at = ? WHERE seq = ?"
    " AND (last_seen_at IS NULL OR last_seen_at < ?)"
)
# the text UtcDateTime stores on SQLite (so string comparison orders it)
_sqlite_time = devices.c.last_seen_at.type.dialect_impl(sqlite.dialect()).bind_processor(
    sqlite.dialect()
)


def write_batch_sqlite(
    conn: Connection,
    rows: Sequence[TelemetryRow],
    minutes: Collection[tuple[int, int]],
    seen: Mapping[int, datetime],
    seen_step: timedelta,
) -> int:
    """SQLite: a whole batch on a synchronous connection, so the ingest service runs it in
    one worker-thread call. `seen`: device seq → newest sample time, written where
    last_seen_at is older by more than `seen_step`. Returns how many samples were new; a
    batch with none leaves the minutes and last-seen alone."""
    stored = int(conn.exec_driver_sql(_SQLITE_INSERT, rows).rowcount)
    if stored:
        conn.exec_driver_sql(_SQLITE_PENDING, sorted(minutes))
        if seen:
            assert _sqlite_time is not None
            conn.exec_driver_sql(
                _SQLITE_SEEN,
                [(_sqlite_time(at), seq, _sqlite_time(at - seen_step)) for seq, at in seen.items()],
            )
    return stored


# --- PostgreSQL --------------------------------------------------------------------------

# the minutes of a batch that COPY stored whole, and last_seen_at of the devices it moved
_PG_MARK = (
    "WITH pending AS (INSERT INTO rollup_pending (device_seq, bucket)"
    " SELECT * FROM unnest($1::integer[], $2::bigint[]) ON CONFLICT DO NOTHING)"
    " UPDATE devices SET last_seen_at = seen.at"
    " FROM unnest($3::integer[], $4::timestamptz[]) AS seen (seq, at)"
    " WHERE devices.seq = seen.seq AND (devices.last_seen_at IS NULL"
    " OR devices.last_seen_at < seen.at - make_interval(secs => $5))"
)
_PG_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS telemetry_staging (LIKE telemetry) ON COMMIT DELETE ROWS"
)
# a batch that holds stored samples: only its new ones are written, and they alone pick
# the minutes to mark and the devices whose last_seen_at moves
_PG_FROM_STAGING = (
    "WITH ins AS (INSERT INTO telemetry (device_seq, ts, power, voltage, current, energy, relay)"
    " SELECT device_seq, ts, power, voltage, current, energy, relay"
    " FROM pg_temp.telemetry_staging ON CONFLICT DO NOTHING RETURNING device_seq, ts),"
    " pending AS (INSERT INTO rollup_pending (device_seq, bucket)"
    " SELECT DISTINCT device_seq, ts / 60000 * 60000 FROM ins ON CONFLICT DO NOTHING),"
    " newest AS (SELECT device_seq, to_timestamp(max(ts) / 1000.0) AS at FROM ins"
    " GROUP BY device_seq),"
    " seen AS (UPDATE devices SET last_seen_at = newest.at FROM newest"
    " WHERE devices.seq = newest.device_seq AND (devices.last_seen_at IS NULL"
    " OR devices.last_seen_at < newest.at - make_interval(secs => $1)))"
    " SELECT count(*) FROM ins"
)


# the connection itself is gone (server restarted, backend terminated, network): like a
# SQLAlchemy statement would, drop it from the pool and answer 503 (web.middleware)
_CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


async def write_batch_postgresql(
    conn: AsyncConnection,
    rows: Sequence[TelemetryRow],
    minutes: Collection[tuple[int, int]],
    seen: Mapping[int, datetime],
    seen_step: timedelta,
) -> tuple[int, bool]:
    """PostgreSQL: the batch in one transaction on `conn`'s asyncpg connection, which must
    have no transaction open. Returns (new samples, whether `seen` was applied as given);
    when the batch held stored samples, last-seen follows the new ones instead."""
    pooled = await conn.get_raw_connection()
    driver: asyncpg.Connection[Any] = pooled.driver_connection
    try:
        return await _write_batch(driver, rows, minutes, seen, seen_step.total_seconds())
    except Exception as failed:
        # (the transaction's rollback on a dead connection may fail in its own way, with
        # the loss as its context)
        if not (
            driver.is_closed()
            or isinstance(failed, _CONNECTION_LOST)
            or isinstance(failed.__context__, _CONNECTION_LOST)
        ):
            raise
        # what SQLAlchemy does when its own statement finds the server gone: this connection
        # is dropped, and every one opened before it is replaced at its next checkout
        conn.sync_engine.pool._invalidate(pooled, failed)
        await conn.invalidate(failed)
        raise InterfaceError(
            "telemetry batch", None, failed, connection_invalidated=True
        ) from failed


async def _write_batch(
    driver: asyncpg.Connection[Any],
    rows: Sequence[TelemetryRow],
    minutes: Collection[tuple[int, int]],
    seen: Mapping[int, datetime],
    step: float,
) -> tuple[int, bool]:
    try:
        async with driver.transaction():
            # marks first: the COPY below is the statement that may fail
            await driver.execute(
                _PG_MARK,
                [seq for seq, _ in minutes],
                [bucket for _, bucket in minutes],
                list(seen),
                list(seen.values()),
                step,
            )
            await driver.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
        return len(rows), True
    except asyncpg.UniqueViolationError:
        pass  # some of these samples are stored already (or the batch repeats one)
    async with driver.transaction():
        await driver.execute(_PG_STAGING)
        await driver.copy_records_to_table(
            "telemetry_staging", schema_name="pg_temp", records=rows, columns=COLUMNS
        )
        stored = await driver.fetchval(_PG_FROM_STAGING, step)
    return int(stored), False


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
