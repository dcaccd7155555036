"""The rollup job: recompute the 1 min / 1 h / 1 d rollups of the minutes ingest marked.

Ingest only marks (device, minute) pairs; this job, run by the job runner every
`GREENNET_ROLLUP_INTERVAL` seconds on one process at a time, redoes those buckets from the
level below. Late and out-of-order samples just mark older minutes, so rollups stay equal
to what the raw data says (tests/backend/test_rollups.py checks it property by property).
"""

from __future__ import annotations

from itertools import groupby

from ..storage import rollups as rollup_store
from ..storage.telemetry import MINUTE_MS
from .base import Service

CLAIM = 2_000  # pending minutes per transaction
MAX_ROUNDS = 50  # per run; what is left waits for the next run


class Rollups(Service):
    """Keeps rollups equal to the raw data."""

    async def run(self) -> int:
        """Process pending minutes until none are left (or a bound); return how many."""
        done = 0
        for _ in range(MAX_ROUNDS):
            async with self.engine.begin() as conn:
                claimed = await rollup_store.claim_pending(conn, CLAIM)
                for seq, marks in groupby(claimed, key=lambda mark: mark[0]):
                    for lo, hi in rollup_store.minute_runs([minute for _, minute in marks]):
                        following = await rollup_store.next_sample_after(conn, seq, hi)
                        if following is not None:  # its increment may have changed
                            hi = max(hi, following - following % MINUTE_MS + MINUTE_MS)
                        await rollup_store.recompute(conn, seq, lo, hi)
            done += len(claimed)
            if len(claimed) < CLAIM:
                break
        return done
