"""One background job runner for the whole service (rollups, retention; alerts' offline
check and the notification outbox register here too).

    runner.register("retention", 3600, retention.apply)

Each job runs at most once per interval across all processes sharing the database: a run
first takes a PostgreSQL advisory lock for the job (`pg_try_advisory_lock`; a process that
does not get it skips), then claims the interval in `job_runs` (row locked, so two
processes cannot both see it due). On SQLite there is one process; the same claim in a
`BEGIN IMMEDIATE` transaction keeps it honest. A failing job is logged and retried at its
next interval; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .clock import Clock
from .db.schema import job_runs

_LOGGER = logging.getLogger(__name__)
_LOCK_CLASS = 0x676E  # first key of every job's advisory lock: "gn"

type JobFunction = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Job:
    """A registered job: what to run and how often (seconds)."""

    name: str
    interval: float
    run: JobFunction


class JobRunner:
    """Runs registered jobs in the background, each once per interval across processes."""

    def __init__(self, engine: AsyncEngine, clock: Clock, tick_seconds: float = 1.0) -> None:
        self.engine = engine
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.jobs: dict[str, Job] = {}
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}"
        self._task: asyncio.Task[None] | None = None
        # when each job is due at the earliest, as last seen in the ledger: until then a
        # tick costs no database query
        self._not_before: dict[str, datetime] = {}

    def register(self, name: str, interval_seconds: float, run: JobFunction) -> None:
        """Add a job (names are unique; at most 64 characters)."""
        if name in self.jobs or len(name) > 64:
            raise ValueError(f"job name {name!r} is taken or too long")
        self.jobs[name] = Job(name, interval_seconds, run)

    async def run_due(self) -> list[str]:
        """Run every job that is due and not running elsewhere; return the names run."""
        ran = []
        for job in list(self.jobs.values()):
            if await self.run_job(job.name):
                ran.append(job.name)
        return ran

    async def run_job(self, name: str, *, force: bool = False) -> bool:
        """Run one job if it is due (or `force`) and no other process is running it."""
        job = self.jobs[name]
        if not force and self.clock() < self._not_before.get(
            name, datetime.min.replace(tzinfo=UTC)
        ):
            return False
        async with self._exclusive(name) as mine:
            if not mine or not await self._claim(job, force):
                return False
            error = None
            try:
                await job.run()
            except Exception as err:  # one job's failure never stops the runner
                _LOGGER.exception("job %s failed", name)
                error = f"{type(err).__name__}: {err}"[:500]
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(job_runs)
                    .where(job_runs.c.name == name)
                    .values(finished_at=self.clock(), last_error=error)
                )
        return True

    def start(self) -> None:
        """Run due jobs every tick until `stop()`."""
        if self._task is None and self.jobs:
            self._task = asyncio.create_task(self._loop(), name="greennet-jobs")

    async def stop(self) -> None:
        """Stop the loop (a job in progress is cancelled; its interval is already claimed)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:  # the database may be away for a while: keep trying
                _LOGGER.exception("job runner pass failed")
            await asyncio.sleep(self.tick_seconds)

    @contextlib.asynccontextmanager
    async def _exclusive(self, name: str) -> AsyncIterator[bool]:
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        async with self.engine.connect() as conn:
            params = {"cls": _LOCK_CLASS, "name": name}
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:cls, hashtext(:name))"), params
            )
            await conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:cls, hashtext(:name))"), params
                    )
                    await conn.commit()

    async def _claim(self, job: Job, force: bool) -> bool:
        now = self.clock()
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(job_runs).values(name=job.name, runs=0).on_conflict_do_nothing()
            )
            last = await conn.scalar(
                select(job_runs.c.started_at).where(job_runs.c.name == job.name).with_for_update()
            )
            interval = timedelta(seconds=job.interval)
            if not force and last is not None and now - last < interval:
                self._not_before[job.name] = last + interval
                return False
            self._not_before[job.name] = now + interval
            await conn.execute(
                update(job_runs)
                .where(job_runs.c.name == job.name)
                .values(started_at=now, runs=job_runs.c.runs + 1, runner=self.runner_id)
            )
        return True
