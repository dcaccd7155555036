"""Rollups equal what the raw data says, however late or out of order samples arrive
(property-based, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from greennet_cloud import Config
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.migrate import migrate
from greennet_cloud.db.schema import telemetry_1d, telemetry_1h, telemetry_1m
from greennet_cloud.models import Device, Role, Sample
from greennet_cloud.services import rollups as rollups_module
from greennet_cloud.services.ingest import Ingest
from greennet_cloud.services.rollups import Rollups
from greennet_cloud.storage import devices as device_store
from greennet_cloud.storage import homes as home_store
from greennet_cloud.storage import users as user_store
from greennet_cloud.storage.rollups import claimed_devices, pending_devices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from .conftest import TEST_SECRET

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
_ids = itertools.count()
# around a day boundary, so minutes, hours and days all get late samples
BASE = int(datetime(2026, 11, 30, 22, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[str]:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return database_url


def reference(samples: dict[int, tuple[float, float]], step: int) -> dict[int, tuple]:  # type: ignore[type-arg]
    """Rollups computed the obvious way: in ts order, increments over the previous sample."""
    buckets: dict[int, list[float]] = defaultdict(lambda: [0, float("inf"), float("-inf"), 0, 0])
    previous = None
    for ts in sorted(samples):
        power, energy = samples[ts]
        increment = 0.0 if previous is None else energy - previous if energy >= previous else energy
        previous = energy
        bucket = buckets[ts - ts % step]
        bucket[0] += 1
        bucket[1] = min(bucket[1], power)
        bucket[2] = max(bucket[2], power)
        bucket[3] += power
        bucket[4] += increment
    return {key: tuple(value) for key, value in buckets.items()}


async def stored_rollups(engine, seq: int, table) -> dict[int, tuple]:  # type: ignore[no-untyped-def, type-arg]
    async with engine.connect() as conn:
        rows = await conn.execute(select(table).where(table.c.device_seq == seq))
        return {
            row.bucket: (row.samples, row.power_min, row.power_max, row.power_sum, row.energy)
            for row in rows
        }


async def new_device(engine) -> Device:  # type: ignore[no-untyped-def]
    n = next(_ids)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await user_store.insert_user(
            conn, user_id=f"u{n}", email=f"u{n}@example.com", password_hash="x",
            role=Role.USER, display_name="u", now=now,
        )  # fmt: skip
        await home_store.insert_home(conn, owner_id=f"u{n}", home_id=f"h{n}", name="h", now=now)
        return await device_store.insert_device(
            conn,
            Device(id=f"d{n}", seq=0, plug_id="greennet-000001", home_id=f"h{n}", name="p",
                   model="", location="", created_at=now, last_seen_at=None),
        )  # fmt: skip


samples_strategy = st.dictionaries(
    keys=st.integers(0, 4 * HOUR // 1000).map(lambda s: BASE + s * 1000),
    values=st.tuples(
        st.floats(0, 3000, allow_nan=False).map(lambda p: round(p, 1)),
        st.floats(0, 50, allow_nan=False).map(lambda e: round(e, 3)),  # drops = resets
    ),
    min_size=1,
    max_size=40,
)


async def check(url: str, samples: dict[int, tuple[float, float]], order: list[int],
                cuts: list[int]) -> None:  # fmt: skip
    engine = create_engine(url)
    clock = lambda: datetime.fromtimestamp((BASE + 5 * HOUR) / 1000, UTC)  # noqa: E731
    config = Config(secret=TEST_SECRET, database_url=url)
    ingest = Ingest(engine, clock, config, devices=None)  # type: ignore[arg-type]
    try:
        rollups = Rollups(engine, clock)
        device = await new_device(engine)
        arrival = [sorted(samples)[i] for i in order]  # a permutation: late, out of order
        batches = [arrival[a:b] for a, b in itertools.pairwise([0, *sorted(cuts), len(arrival)])]
        for batch in batches:
            await ingest.store(
                [(device, Sample(ts, samples[ts][0], 230.0, 1.0, samples[ts][1], True))
                 for ts in batch]
            )  # fmt: skip
            await rollups.run()  # rollups after every batch: later batches must correct them
        for table, step in ((telemetry_1m, MINUTE), (telemetry_1h, HOUR), (telemetry_1d, DAY)):
            stored = await stored_rollups(engine, device.seq, table)
            expected = reference(samples, step)
            assert stored.keys() == expected.keys(), table.name
            for key, row in expected.items():
                assert stored[key] == pytest.approx(row, abs=1e-6), (table.name, key)
    finally:
        ingest.close()
        await engine.dispose()


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data(), samples=samples_strategy)
def test_rollups_equal_the_raw_data_whatever_the_arrival_order(
    migrated: str, data: st.DataObject, samples: dict[int, tuple[float, float]]
) -> None:
    order = data.draw(st.permutations(range(len(samples))))
    cuts = data.draw(st.lists(st.integers(0, len(samples)), max_size=4))
    asyncio.run(check(migrated, samples, order, cuts))


def test_the_reference_counts_a_counter_drop_as_a_new_cycle() -> None:
    got = reference({0: (1.0, 5.0), 1000: (1.0, 6.0), 2000: (1.0, 0.5), 3000: (1.0, 1.0)}, HOUR)
    assert got[0][4] == pytest.approx(1.0 + 0.5 + 0.5)


async def test_a_run_takes_every_pending_minute_in_chunks_of_devices(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(migrated)
    clock = lambda: datetime.fromtimestamp((BASE + 5 * HOUR) / 1000, UTC)  # noqa: E731
    ingest = Ingest(engine, clock, Config(secret=TEST_SECRET, database_url=migrated), None)  # type: ignore[arg-type]
    monkeypatch.setattr(rollups_module, "CLAIM", 5)  # two devices' minutes a chunk, not three
    chunks: list[list[int]] = []

    class Watched(Rollups):
        async def _chunk(self, devices: list[int]) -> int:
            chunks.append(devices)
            return await super()._chunk(devices)

    try:
        devices = [await new_device(engine) for _ in range(5)]
        for device in devices:  # two minutes each
            await ingest.store(
                [(device, Sample(BASE + ts, 10.0, 230.0, 1.0, 1.0, True)) for ts in (0, MINUTE)]
            )
        seqs = sorted(device.seq for device in devices)
        async with engine.connect() as conn:
            assert await conn.run_sync(pending_devices) == seqs
        assert await Watched(engine, clock).run() == 2 * len(devices)
        assert chunks == [seqs[0:2], seqs[2:4], seqs[4:]]
        for device in devices:
            assert set(await stored_rollups(engine, device.seq, telemetry_1m)) == {
                BASE,
                BASE + MINUTE,
            }
        async with engine.connect() as conn:
            assert await conn.run_sync(pending_devices) == []
            assert await conn.run_sync(claimed_devices) == []
    finally:
        ingest.close()
        await engine.dispose()


async def test_minutes_marked_during_a_run_wait_for_the_next_run(migrated: str) -> None:
    engine = create_engine(migrated)
    clock = lambda: datetime.fromtimestamp((BASE + 5 * HOUR) / 1000, UTC)  # noqa: E731
    ingest = Ingest(engine, clock, Config(secret=TEST_SECRET, database_url=migrated), None)  # type: ignore[arg-type]
    try:
        device = await new_device(engine)
        minutes = itertools.count(1)

        async def one_more(minute: int) -> None:
            sample = Sample(BASE + minute * MINUTE, 10.0, 230.0, 1.0, 1.0, True)
            await ingest.store([(device, sample)])

        class Busy(Rollups):
            """Ingest marks another minute while each chunk of the run works."""

            async def _chunk(self, devices: list[int]) -> int:
                await one_more(next(minutes))
                return await super()._chunk(devices)

        await one_more(0)
        assert await Busy(engine, clock).run() == 1  # the one pending when it started
        async with engine.connect() as conn:
            assert await conn.run_sync(pending_devices) == [device.seq]  # the next run's
        assert await Rollups(engine, clock).run() == 1
        assert set(await stored_rollups(engine, device.seq, telemetry_1m)) == {
            BASE,
            BASE + MINUTE,
        }
    finally:
        ingest.close()
        await engine.dispose()


async def test_minutes_a_failed_run_claimed_are_rolled_up_by_the_next(migrated: str) -> None:
    engine = create_engine(migrated)
    clock = lambda: datetime.fromtimestamp((BASE + 5 * HOUR) / 1000, UTC)  # noqa: E731
    ingest = Ingest(engine, clock, Config(secret=TEST_SECRET, database_url=migrated), None)  # type: ignore[arg-type]

    class Dies(Rollups):
        async def _chunk(self, devices: list[int]) -> int:
            raise RuntimeError("process killed")

    try:
        device = await new_device(engine)
        await ingest.store([(device, Sample(BASE, 10.0, 230.0, 1.0, 1.0, True))])
        with pytest.raises(RuntimeError):
            await Dies(engine, clock).run()
        assert await stored_rollups(engine, device.seq, telemetry_1m) == {}
        assert await Rollups(engine, clock).run() == 1
        assert set(await stored_rollups(engine, device.seq, telemetry_1m)) == {BASE}
    finally:
        ingest.close()
        await engine.dispose()


async def test_ingest_of_a_claimed_minute_completes_while_a_run_is_in_progress(
    migrated: str,
) -> None:
    """The run is held after its claim; a batch for the very minute it claimed (and the
    next) is stored at once, and waits for the next run. Before rollup_claimed, the run's
    transaction held the claimed marks' row locks (PostgreSQL) or the write turn (SQLite)
    until it was done: the batch waited for the whole run."""
    engine = create_engine(migrated)
    clock = lambda: datetime.fromtimestamp((BASE + 5 * HOUR) / 1000, UTC)  # noqa: E731
    ingest = Ingest(engine, clock, Config(secret=TEST_SECRET, database_url=migrated), None)  # type: ignore[arg-type]
    started, release = asyncio.Event(), asyncio.Event()

    class Held(Rollups):
        async def _chunk(self, devices: list[int]) -> int:
            started.set()
            await release.wait()
            return await super()._chunk(devices)

    def sample(ts: int) -> Sample:
        return Sample(ts, 10.0, 230.0, 1.0, 1.0, True)

    try:
        device = await new_device(engine)
        await ingest.store([(device, sample(BASE + ts)) for ts in (0, 1000)])
        # as the service wires it: on SQLite the batches' write turns and writer
        run = asyncio.create_task(
            Held(engine, clock, ingest.write_turns, ingest.sqlite_writer).run()
        )
        await asyncio.wait_for(started.wait(), 10)
        stored = await asyncio.wait_for(
            ingest.store([(device, sample(BASE + ts)) for ts in (2000, MINUTE)]), 2
        )
        assert stored == (2, 0)
        assert not run.done()  # the batch did not wait for the run
        release.set()
        assert await run == 1  # the minute claimed before the batch
        # it read its minute after the batch was stored: three samples already
        assert (await stored_rollups(engine, device.seq, telemetry_1m))[BASE][0] == 3
        assert await Rollups(engine, clock).run() == 2  # the batch's minutes, marked again
        assert {
            bucket: row[0]
            for bucket, row in (await stored_rollups(engine, device.seq, telemetry_1m)).items()
        } == {BASE: 3, BASE + MINUTE: 1}
    finally:
        release.set()
        ingest.close()
        await engine.dispose()
