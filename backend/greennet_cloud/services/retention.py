"""The retention job: forget what is older than the `GREENNET_RETENTION_*` settings (telemetry,
the remote command audit trail), and what has expired (sessions with their refresh tokens,
pairing codes, ingest signatures).

Raw telemetry on PostgreSQL goes a whole daily partition at a time (`DROP TABLE`, no row
deletes, no vacuum debt); the same run creates the next days' partitions so ingest seldom
has to. On SQLite rows are deleted device by device, along the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..config import Retention as RetentionPolicy
from ..db.schema import (
    devices,
    pairing_codes,
    sessions,
    telemetry,
    telemetry_1d,
    telemetry_1h,
    telemetry_1m,
)
from ..storage import commands as command_store
from ..storage import ingest_guard
from ..storage import telemetry as telemetry_store
from .base import Service

DAY_MS = telemetry_store.DAY_MS
PARTITIONS_AHEAD = 2  # days after today that get their partition in advance


@dataclass
class RetentionReport:
    """What one run removed (row counts; partition names on PostgreSQL)."""

    partitions_dropped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


class Retention(Service):
    """Applies the retention policy; registered with the job runner."""

    def __init__(self, engine: AsyncEngine, clock: Clock, policy: RetentionPolicy) -> None:
        super().__init__(engine, clock)
        self.policy = policy

    async def apply(self) -> RetentionReport:
        """One pass: telemetry levels past their age, then expired credentials."""
        now = self.now()
        now_ms = int(now.timestamp() * 1000)
        report = RetentionReport()
        # raw: keep whole days; a day goes once all of it is older than the limit
        raw_cutoff_day = telemetry_store.day_of(now_ms - self.policy.raw_days * DAY_MS)
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                report.partitions_dropped = await telemetry_store.drop_partitions_before(
                    conn, raw_cutoff_day
                )
                today = telemetry_store.day_of(now_ms)
                await telemetry_store.create_partitions(
                    conn, range(today, today + PARTITIONS_AHEAD + 1)
                )
            else:
                seqs = list(await conn.scalars(select(devices.c.seq)))
                removed = 0
                for seq in seqs:
                    result = await conn.execute(
                        delete(telemetry).where(
                            telemetry.c.device_seq == seq,
                            telemetry.c.ts < raw_cutoff_day * DAY_MS,
                        )
                    )
                    removed += result.rowcount
                report.rows["telemetry"] = removed
            for table, days in (
                (telemetry_1m, self.policy.minute_days),
                (telemetry_1h, self.policy.hour_days),
                (telemetry_1d, self.policy.day_days),
            ):
                if days:
                    result = await conn.execute(
                        delete(table).where(table.c.bucket < now_ms - days * DAY_MS)
                    )
                    report.rows[table.name] = result.rowcount
            # refresh tokens go with their session (ON DELETE CASCADE)
            expired = await conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            report.rows["sessions"] = expired.rowcount
            codes = await conn.execute(
                delete(pairing_codes).where(pairing_codes.c.expires_at < now)
            )
            report.rows["pairing_codes"] = codes.rowcount
            report.rows["ingest_signatures"] = await ingest_guard.prune_signatures(conn, now)
            if self.policy.command_days:
                report.rows["commands"] = await command_store.delete_commands_before(
                    conn, now - timedelta(days=self.policy.command_days)
                )
        return report
