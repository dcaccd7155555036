"""SQLite: the WAL checkpointed beside the bulk writer, never by it.

With `synchronous=NORMAL` a commit is not fsynced, a checkpoint is: it copies the WAL back
into the database file and fsyncs that file. SQLite checkpoints automatically in the
commit that takes the WAL past 1,000 pages, so at 1,000 samples a second every few seconds
one ingest batch waited for that fsync; on a busy disk single batches took 105-833 ms
(bench/RESULTS.md, live updates, 2026-12-02). The bulk writer's connections
(`engine.sqlite_writer`) therefore do not checkpoint (`wal_autocheckpoint=0`); after each
of its writes this asks for a PASSIVE checkpoint on a thread of its own, at most one at a
time and one a second. PASSIVE takes no lock writers or readers wait for. The other
connections keep SQLite's automatic checkpoints, so the WAL stays bounded even if this
stopped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

_LOGGER = logging.getLogger(__name__)
INTERVAL_SECONDS = 1.0  # at most one checkpoint per this long


class BackgroundCheckpoints:
    """PASSIVE checkpoints of one SQLite file, requested after writes (see the module doc)."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self._engine = engine
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.done = 0  # checkpoints run (tests, diagnostics)

    def request(self) -> None:
        """A write committed: checkpoint soon, without waiting for it."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="greennet-sqlite-checkpoint"
        )

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await asyncio.to_thread(self._checkpoint)
            except (SQLAlchemyError, sqlite3.Error) as err:
                _LOGGER.warning("WAL checkpoint failed (SQLite checkpoints on commit): %s", err)
            self.done += 1
            if not self._again:
                return
            await asyncio.sleep(self._interval)

    def _checkpoint(self) -> None:
        # on the driver's connection, outside any transaction (the engine's begin hook
        # would take the write lock first)
        raw = self._engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    async def idle(self) -> None:
        """Wait until no checkpoint is running or due (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def close(self) -> None:
        """Ask for no more checkpoints (one running finishes on its thread)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
