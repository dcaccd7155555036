"""The job runner: each job once per interval across processes (advisory lock + ledger on
PostgreSQL), failures logged and retried, and two real processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.migrate import migrate
from greennet_cloud.db.schema import job_runs
from greennet_cloud.jobs import JobRunner
from sqlalchemy import select

from .conftest import TEST_SECRET, FakeClock
from .live import FAST_ARGON2, LiveServer
from .postgres import PostgresServer


async def test_a_job_runs_once_per_interval_across_runners(
    database_url: str, clock: FakeClock
) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    await migrate(engines[0])
    active = 0
    overlaps = 0
    runs = 0

    async def job() -> None:
        nonlocal active, overlaps, runs
        active += 1
        overlaps += active > 1
        await asyncio.sleep(0.2)
        runs += 1
        active -= 1

    runners = [JobRunner(engine, clock) for engine in engines]  # two "processes"
    for runner in runners:
        runner.register("count", 60, job)
    try:
        ran = await asyncio.gather(*(runner.run_due() for runner in runners))
        assert sorted(len(names) for names in ran) == [0, 1]
        assert (runs, overlaps) == (1, 0)
        clock.advance(30)
        assert [await runner.run_due() for runner in runners] == [[], []]
        clock.advance(31)
        await asyncio.gather(*(runner.run_due() for runner in runners))
        assert (runs, overlaps) == (2, 0)
        async with engines[0].connect() as conn:
            row = (await conn.execute(select(job_runs))).one()
        assert (row.name, row.runs, row.last_error) == ("count", 2, None)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_failing_job_is_recorded_and_does_not_stop_the_others(
    database_url: str, clock: FakeClock
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    done: list[str] = []

    async def broken() -> None:
        raise RuntimeError("disk on fire")

    async def fine() -> None:
        done.append("fine")

    runner = JobRunner(engine, clock)
    runner.register("broken", 10, broken)
    runner.register("fine", 10, fine)
    try:
        assert await runner.run_due() == ["broken", "fine"]
        assert done == ["fine"]
        async with engine.connect() as conn:
            errors = dict(
                (await conn.execute(select(job_runs.c.name, job_runs.c.last_error))).all()
            )
        assert errors == {"broken": "RuntimeError: disk on fire", "fine": None}
        with pytest.raises(ValueError, match="taken"):
            runner.register("fine", 1, fine)
    finally:
        await engine.dispose()


@pytest.fixture
def two_processes(postgres_server: PostgresServer) -> Iterator[float]:
    """Two `greennet-cloud serve` processes on one PostgreSQL database, jobs every 2 s;
    yields when the first one started (monotonic)."""
    url = postgres_server.create_database("greennet_two_runners")
    env = {
        **FAST_ARGON2,
        "GREENNET_SECRET": TEST_SECRET,
        "GREENNET_DATABASE_URL": url,
        "GREENNET_LOG_LEVEL": "WARNING",
        "GREENNET_RETENTION_INTERVAL": "2",
        "GREENNET_ROLLUP_INTERVAL": "2",
    }
    servers = (LiveServer(env=env), LiveServer(env=env))
    started = time.monotonic()
    try:
        for server in servers:
            server.start()
        yield started
    finally:
        for server in servers:
            server.cleanup()


async def test_two_processes_on_one_postgresql_run_each_job_once_per_interval(
    two_processes: float, postgres_server: PostgresServer
) -> None:
    await asyncio.sleep(7)
    elapsed = time.monotonic() - two_processes
    engine = create_engine(postgres_server.url("greennet_two_runners"))
    try:
        async with engine.connect() as conn:
            rows = {row.name: row for row in await conn.execute(select(job_runs))}
    finally:
        await engine.dispose()
    # every registered job ran; the two on a 2 s interval often enough to count
    assert set(rows) == {"rollups", "retention", "alerts", "availability"}
    for row in (rows["rollups"], rows["retention"]):
        # uncoordinated, two processes would run each job about twice as often
        assert 3 <= row.runs <= elapsed / 2 + 1, (row.name, row.runs, elapsed)
        assert row.last_error is None
