"""The rollup job: recompute the 1 min / 1 h / 1 d rollups of the minutes ingest marked.

Ingest only marks (device, minute) pairs; this job, run by the job runner every
`GREENNET_ROLLUP_INTERVAL` seconds on one process at a time, redoes those buckets from the
level below. Late and out-of-order samples just mark older minutes, so rollups stay equal
to what the raw data says (tests/backend/test_rollups.py checks it property by property).
"""

from __future__ import annotations

import asyncio
import contextlib
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading
from ..storage import rollups as rollup_store
from ..storage.telemetry import MINUTE_MS
from .base import Service

CLAIM = 2_000  # pending minutes per transaction
# Devices per transaction on SQLite (`turns` given): each device's run of minutes costs
# about a dozen statements in the transaction, which holds SQLite's write lock until it
# commits. 200 devices' minutes in one transaction held ingest up for 1-3 s at 1,000
# samples/s on a loaded machine (bench/RESULTS.md, live updates); a few devices at a time,
# taking turns with ingest, keep every hold short. One device's backfill still goes 2,000
# minutes at once.
DEVICES = 4
MAX_ROUNDS = 5_000  # transactions per run; what is left waits for the next run


class Rollups(Service):
    """Keeps rollups equal to the raw data. `turns`: a lock each transaction takes first,
    shared with ingest on SQLite (`Ingest.write_turns`), so batches wait one turn, not
    behind a whole run."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, turns: asyncio.Lock | None = None
    ) -> None:
        super().__init__(engine, clock)
        self.turns = turns

    async def run(self) -> int:
        """Process the minutes pending when the run starts, a few devices per transaction
        (minutes marked meanwhile wait for the next run); return how many."""
        async with reading(self.engine).begin() as conn:
            pending = await rollup_store.pending_devices(conn)
        # PostgreSQL: one transaction for them all, as a few at a time made ingest wait for
        # each in turn (it marks every device's minute again, behind each claim's row locks)
        step = DEVICES if self.turns is not None else max(1, len(pending))
        done = rounds = 0
        for start in range(0, len(pending), step):
            devices = pending[start : start + step]
            while rounds < MAX_ROUNDS:
                rounds += 1
                claimed = await self._round(devices)
                done += len(claimed)
                if len(claimed) < CLAIM:
                    break  # these devices are done
        return done

    async def _round(self, devices: list[int]) -> list[tuple[int, int]]:
        """One transaction: claim and recompute up to CLAIM pending minutes of `devices`."""
        async with self.turns or contextlib.nullcontext(), self.engine.begin() as conn:
            claimed = await rollup_store.claim_pending(conn, CLAIM, devices)
            for seq, marks in groupby(claimed, key=lambda mark: mark[0]):
                for lo, hi in rollup_store.minute_runs([minute for _, minute in marks]):
                    following = await rollup_store.next_sample_after(conn, seq, hi)
                    if following is not None:  # its increment may have changed
                        hi = max(hi, following - following % MINUTE_MS + MINUTE_MS)
                    await rollup_store.recompute(conn, seq, lo, hi)
        return claimed
