"""Rollups, recomputed from the level below for exactly the buckets that changed.

Minutes come from raw samples, hours from minutes, days from hours. A bucket's energy is
the sum of each sample's counter increment over the sample before it (which may lie in an
earlier bucket); a counter that drops (a reset, a new plug) starts a new cycle, so its
increment is the new reading itself, never negative. A late sample changes its own minute
and the next sample's increment, so the minute of the first sample after a marked minute
is recomputed with it.

A run works in three steps, each a few set-based statements whatever the number of devices
(the functions take a synchronous connection: the service runs them in one worker-thread
call on SQLite, through `run_sync` otherwise):

1. `claim_pending`: move every pending mark to `rollup_claimed`, in a transaction of its own;
2. `minute_rollups`: read the claimed minutes' rollups from raw data, outside any write
   transaction (one statement);
3. `store_rollups`: in one short transaction, replace those minutes, then their hours and
   days from the level below, and drop the claims.

Ingest only ever writes `rollup_pending`, so neither a claim held by a run nor its
computation makes a batch wait (bench/RESULTS.md, live updates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Insert,
    Table,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
)

from ..db.schema import telemetry_1d, telemetry_1h, telemetry_1m

HOUR_MS = 3_600_000
DAY_MS = 86_400_000

type MinuteRow = tuple[int, int, int, float, float, float, float]
"""(device seq, minute start, samples, power min, power max, power sum, energy)"""

# PostgreSQL: one statement, whose row locks on the moved marks last a few milliseconds
_PG_CLAIM = (
    "WITH moved AS (DELETE FROM rollup_pending RETURNING device_seq, bucket)"
    " INSERT INTO rollup_claimed (device_seq, bucket) SELECT device_seq, bucket FROM moved"
    " ON CONFLICT DO NOTHING"
)
# SQLite: the transaction holds the write lock, so nothing is marked between the two
_SQLITE_CLAIM = (
    "INSERT INTO rollup_claimed (device_seq, bucket) SELECT device_seq, bucket"
    " FROM rollup_pending WHERE true ON CONFLICT DO NOTHING",
    "DELETE FROM rollup_pending",
)

# the claimed minutes of some devices, and the minute of the first sample after each (its
# increment depends on the marked minute's last sample); each minute's samples with the
# sample before its first, so LAG gives every sample its predecessor
_MINUTES = text(
    "WITH marks AS (SELECT device_seq, bucket FROM rollup_claimed"
    " WHERE device_seq IN :devices),"
    " following AS (SELECT m.device_seq, (SELECT t.ts FROM telemetry t"
    " WHERE t.device_seq = m.device_seq AND t.ts >= m.bucket + 60000"
    " ORDER BY t.ts LIMIT 1) AS ts FROM marks m),"
    " targets AS (SELECT device_seq, bucket FROM marks UNION"
    " SELECT device_seq, ts / 60000 * 60000 FROM following WHERE ts IS NOT NULL),"
    " s AS (SELECT g.device_seq, g.bucket, t.ts, t.power, t.energy,"
    " LAG(t.energy) OVER (PARTITION BY g.device_seq, g.bucket ORDER BY t.ts) AS prev"
    " FROM targets g JOIN telemetry t ON t.device_seq = g.device_seq"
    " AND t.ts >= COALESCE((SELECT p.ts FROM telemetry p WHERE p.device_seq = g.device_seq"
    " AND p.ts < g.bucket ORDER BY p.ts DESC LIMIT 1), g.bucket)"
    " AND t.ts < g.bucket + 60000)"
    " SELECT device_seq, bucket, count(*) AS samples, min(power) AS power_min,"
    " max(power) AS power_max, sum(power) AS power_sum,"
    " sum(CASE WHEN prev IS NULL THEN 0 WHEN energy >= prev THEN energy - prev"
    " ELSE energy END) AS energy"
    " FROM s WHERE ts >= bucket GROUP BY device_seq, bucket"
).bindparams(bindparam("devices", expanding=True))


def _from_below(table: Table, below: Table) -> Insert:
    """Recompute one bucket (`:bucket` to `:end`) of `table` from the rows of `below`."""
    query = (
        select(
            below.c.device_seq,
            cast(bindparam("bucket"), BigInteger),
            func.sum(below.c.samples),
            func.min(below.c.power_min),
            func.max(below.c.power_max),
            func.sum(below.c.power_sum),
            func.sum(below.c.energy),
        )
        .where(
            below.c.device_seq == bindparam("seq"),
            below.c.bucket >= bindparam("bucket"),
            below.c.bucket < bindparam("end"),
        )
        .group_by(below.c.device_seq)  # no minutes left, no row
    )
    return insert(table).from_select(_COLUMNS, query)


_COLUMNS = ["device_seq", "bucket", "samples", "power_min", "power_max", "power_sum", "energy"]
_HOURS = _from_below(telemetry_1h, telemetry_1m)
_DAYS = _from_below(telemetry_1d, telemetry_1h)


def claim_pending(conn: Connection) -> None:
    """Move every pending mark to `rollup_claimed` (call in a transaction of its own: an
    ingest that commits after it marks its minute again, for the next run)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_CLAIM)
    else:
        for statement in _SQLITE_CLAIM:
            conn.exec_driver_sql(statement)


def claimed_devices(conn: Connection) -> list[tuple[int, int]]:
    """(device seq, claimed minutes) of every device with claimed minutes, in order."""
    rows = conn.exec_driver_sql(
        "SELECT device_seq, count(*) FROM rollup_claimed GROUP BY device_seq ORDER BY device_seq"
    )
    return [(int(seq), int(count)) for seq, count in rows]


def pending_devices(conn: Connection) -> list[int]:
    """The devices (seq) with minutes marked and not yet claimed, in order."""
    rows = conn.exec_driver_sql("SELECT DISTINCT device_seq FROM rollup_pending ORDER BY 1")
    return [int(seq) for (seq,) in rows]


def minute_rollups(conn: Connection, devices: Sequence[int]) -> list[MinuteRow]:
    """The 1 min rollups of the minutes claimed for `devices` (and of each one's following
    sample's minute), from raw data: a read, for a snapshot taken after the claim."""
    rows = conn.execute(_MINUTES, {"devices": list(devices)})
    return [
        (int(seq), int(bucket), int(n), float(lo), float(hi), float(total), float(energy))
        for seq, bucket, n, lo, hi, total, energy in rows
    ]


def store_rollups(conn: Connection, devices: Sequence[int], minutes: Sequence[MinuteRow]) -> int:
    """Replace the claimed minutes of `devices` with `minutes` (from `minute_rollups`), redo
    their hours and days, and drop the claims; returns how many claims were done. One
    transaction, all in bulk statements: on SQLite it holds the write lock meanwhile."""
    bind: dict[str, Any] = {"devices": list(devices)}
    claimed = conn.execute(
        text("SELECT device_seq, bucket FROM rollup_claimed WHERE device_seq IN :devices")
        .bindparams(bindparam("devices", expanding=True)),
        bind,
    ).all()  # fmt: skip
    # a claimed minute whose samples are gone (retention) loses its rollup, as it should
    replaced = {(int(seq), int(bucket)) for seq, bucket in claimed}
    replaced |= {(row[0], row[1]) for row in minutes}
    _replace(conn, telemetry_1m, replaced)
    if minutes:
        conn.execute(
            insert(telemetry_1m), [dict(zip(_COLUMNS, row, strict=True)) for row in minutes]
        )
    hours = {(seq, bucket - bucket % HOUR_MS) for seq, bucket in replaced}
    _recompute(conn, telemetry_1h, _HOURS, hours, HOUR_MS)
    days = {(seq, bucket - bucket % DAY_MS) for seq, bucket in hours}
    _recompute(conn, telemetry_1d, _DAYS, days, DAY_MS)
    conn.execute(
        text("DELETE FROM rollup_claimed WHERE device_seq IN :devices").bindparams(
            bindparam("devices", expanding=True)
        ),
        bind,
    )
    return len(claimed)


def _replace(conn: Connection, table: Table, keys: set[tuple[int, int]]) -> None:
    if keys:
        conn.execute(
            delete(table).where(
                table.c.device_seq == bindparam("seq"), table.c.bucket == bindparam("bucket")
            ),
            [{"seq": seq, "bucket": bucket} for seq, bucket in sorted(keys)],
        )


def _recompute(
    conn: Connection, table: Table, query: Insert, keys: set[tuple[int, int]], step: int
) -> None:
    _replace(conn, table, keys)
    if keys:
        conn.execute(
            query,
            [{"seq": seq, "bucket": bucket, "end": bucket + step} for seq, bucket in sorted(keys)],
        )
