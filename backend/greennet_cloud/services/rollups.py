"""The rollup job: recompute the 1 min / 1 h / 1 d rollups of the minutes ingest marked.

Ingest only marks (device, minute) pairs; this job, run by the job runner every
`GREENNET_ROLLUP_INTERVAL` seconds on one process at a time, redoes those buckets from the
level below. Late and out-of-order samples just mark older minutes, so rollups stay equal
to what the raw data says (tests/backend/test_rollups.py checks it property by property).

A run never makes ingest wait for it (bench/RESULTS.md, live updates): it first moves the
pending marks to `rollup_claimed` in a transaction of its own (a few milliseconds; minutes
marked after it wait for the next run), computes their minutes in a read, and writes the
results in one short transaction per chunk of devices (`storage/rollups.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import READ_ONLY, reading
from ..storage import rollups as rollup_store
from .base import Service

# claimed minutes per chunk (one read and one write transaction); a device's minutes are
# never split, so one device's backfill is one chunk however long
CLAIM = 2_000


class Rollups(Service):
    """Keeps rollups equal to the raw data.

    On SQLite, `writer` (the ingest service's synchronous engine on the same file) runs each
    step in one worker-thread call, and `turns` is the lock ingest's batch writes take too
    (`Ingest.write_turns`): the run's two short write transactions queue with the batches
    instead of polling for SQLite's write lock. Without them, steps run on `engine`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        turns: asyncio.Lock | None = None,
        writer: Engine | None = None,
    ) -> None:
        super().__init__(engine, clock)
        self.turns = turns
        self.writer = writer

    async def run(self) -> int:
        """Claim the minutes pending when the run starts (and any a failed run left
        claimed), roll them up a chunk of devices at a time; return how many."""
        await self._write(rollup_store.claim_pending)
        claimed = await self._read(rollup_store.claimed_devices)
        done = 0
        for devices in _chunks(claimed, CLAIM):
            done += await self._chunk(devices)
        return done

    async def _chunk(self, devices: list[int]) -> int:
        """Roll up the claimed minutes of `devices`: compute, then store in one transaction."""
        minutes = await self._read(rollup_store.minute_rollups, devices)
        return await self._write(rollup_store.store_rollups, devices, minutes)

    async def _read[T](self, step: Callable[..., T], *args: Any) -> T:
        if self.writer is not None:
            return await asyncio.to_thread(self._in_writer, step, args, write=False)
        async with reading(self.engine).begin() as conn:
            return await conn.run_sync(step, *args)

    async def _write[T](self, step: Callable[..., T], *args: Any) -> T:
        async with self.turns or contextlib.nullcontext():
            if self.writer is not None:
                return await asyncio.to_thread(self._in_writer, step, args, write=True)
            async with self.engine.begin() as conn:
                return await conn.run_sync(step, *args)

    def _in_writer[T](self, step: Callable[..., T], args: tuple[Any, ...], *, write: bool) -> T:
        assert self.writer is not None
        with self.writer.connect() as conn:
            if not write:
                conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                return step(conn, *args)


def _chunks(claimed: list[tuple[int, int]], limit: int) -> list[list[int]]:
    """Device seqs in runs of at most `limit` claimed minutes (at least one device each)."""
    chunks: list[list[int]] = []
    size = 0
    for seq, count in claimed:
        if not chunks or size + count > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(seq)
        size += count
    return chunks
