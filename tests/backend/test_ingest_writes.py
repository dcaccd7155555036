"""How a stored batch reaches the database (both databases): a batch that repeats stored
samples keeps only its new ones and still marks their minutes for the rollup job (on
PostgreSQL this is the path where `COPY` fails and the staging table takes over), repeats
inside one batch count once, and `last_seen_at` moves in steps whatever device objects the
caller holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from greennet_cloud.models import Device, Sample
from greennet_cloud.services.ingest import LAST_SEEN_STEP, DeviceReport
from greennet_cloud.storage import devices as device_store
from greennet_cloud.web.keys import ENGINE, INGEST, JOBS
from sqlalchemy.exc import InterfaceError

from .api import Api
from .conftest import FakeClock
from .postgres import terminate_other_backends
from .telemetry import Household, household, ms, sample

MINUTE = 60_000


@pytest.fixture
async def home(api: Api) -> Household:
    return await household(api, "owner@example.com", ("greennet-0b0001", "greennet-0b0002"))


async def minute_points(api: Api, home: Household, device_id: str, start: int) -> list[Any]:
    """(minute start, samples) of the device's 1 min rollups from `start`, after the job."""
    assert api.client.app is not None
    assert await api.client.app[JOBS].run_job("rollups", force=True)
    reply = await api.call(
        "GET",
        f"/api/v1/devices/{device_id}/telemetry?resolution=1m&from={start}"
        f"&to={start + 10 * MINUTE}",
        token=home.owner.access,
    )
    assert reply.status == 200, reply.body
    return [(point["ts"], point["samples"]) for point in reply.body["points"]]


async def test_a_batch_repeating_stored_samples_stores_and_rolls_up_only_the_new_ones(
    api: Api, home: Household, clock: FakeClock
) -> None:
    assert api.client.app is not None
    heard: list[list[DeviceReport]] = []

    async def listener(reports: list[DeviceReport]) -> None:
        heard.append(reports)

    api.client.app[INGEST].listeners.append(listener)
    plug, other = home.plugs
    now = ms(clock.now)
    minute = now - now % MINUTE - 5 * MINUTE  # two whole minutes, well in the past
    first = [sample(minute + s * 1000, device_id=plug.plug_id) for s in (0, 10, 20)]
    reply = await home.batch(api, first)
    assert (reply.body["stored"], reply.body["duplicates"]) == (3, 0)
    assert await minute_points(api, home, plug.id, minute) == [(minute, 3)]
    later = minute + MINUTE
    mixed = [
        *first[1:],  # stored already
        sample(later, device_id=plug.plug_id, power=50.0),
        sample(later, device_id=plug.plug_id, power=60.0),  # the same (device, ts) again
        sample(later + 5000, device_id=plug.plug_id),
        sample(later + 5000, device_id=other.plug_id),
    ]
    reply = await home.batch(api, mixed)
    assert reply.status == 200, reply.body
    assert (reply.body["stored"], reply.body["duplicates"]) == (3, 3)
    # the new minute was marked for the rollup job; the old one still holds three samples
    assert await minute_points(api, home, plug.id, minute) == [(minute, 3), (later, 2)]
    assert await minute_points(api, home, other.id, minute) == [(later, 1)]
    raw = await api.call(
        "GET",
        f"/api/v1/devices/{plug.id}/telemetry?resolution=raw&from={minute}&to={later + MINUTE}",
        token=home.owner.access,
    )
    assert [(p["ts"], p["power"]) for p in raw.body["points"]][3:] == [
        (later, 50.0),  # the first of two copies in one batch is the one kept
        (later + 5000, 100.0),
    ]
    by_id = {report.device.id: report for report in heard[-1]}
    assert (by_id[plug.id].samples, by_id[plug.id].latest.ts) == (4, later + 5000)
    assert by_id[other.id].samples == 1
    again = await home.batch(api, mixed)  # nothing new at all
    assert (again.body["stored"], again.body["duplicates"]) == (0, 6)
    assert len(heard) == 2


async def test_last_seen_moves_in_steps_even_for_a_caller_holding_old_device_objects(
    api: Api, home: Household, clock: FakeClock
) -> None:
    """A caller (the hub link, a bench) may keep the Device it loaded once: its
    `last_seen_at` stays None, yet the store must not write last-seen every batch."""
    assert api.client.app is not None
    engine, ingest = api.client.app[ENGINE], api.client.app[INGEST]

    async def loaded() -> Device:
        async with engine.connect() as conn:
            found = await device_store.find_device(conn, home.plugs[0].id)
        assert found is not None
        return found

    held = await loaded()
    assert held.last_seen_at is None
    start = ms(clock.now) - 60_000

    def reading(ts: int) -> Sample:
        return Sample(ts, 10.0, 230.0, 0.05, 1.0, True)

    def at(ts: int) -> datetime:
        return datetime.fromtimestamp(ts / 1000, UTC)

    assert await ingest.store([(held, reading(start))]) == (1, 0)
    assert (await loaded()).last_seen_at == at(start)
    step_ms = int(LAST_SEEN_STEP.total_seconds() * 1000)
    for offset in (1000, step_ms // 2, step_ms):  # within one step: no write
        assert await ingest.store([(held, reading(start + offset))]) == (1, 0)
        assert (await loaded()).last_seen_at == at(start)
    beyond = start + step_ms + 1000
    assert await ingest.store([(held, reading(beyond))]) == (1, 0)
    assert (await loaded()).last_seen_at == at(beyond)
    # an older sample arriving late never moves last_seen_at back
    assert await ingest.store([(held, reading(start - 30_000))]) == (1, 0)
    assert (await loaded()).last_seen_at == at(beyond)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_batch_that_finds_its_connections_dead_fails_as_unavailable_then_recovers(
    api: Api, home: Household, clock: FakeClock, database_url: str
) -> None:
    """PostgreSQL batches go through the asyncpg connection itself (COPY), past SQLAlchemy:
    a dead connection must still leave the pool, fail as the 503 kind of error, and take
    the pool's other connections of that time with it, as any other query would."""
    assert api.client.app is not None
    engine, ingest = api.client.app[ENGINE], api.client.app[INGEST]
    async with engine.connect() as conn:
        device = await device_store.find_device(conn, home.plugs[0].id)
    assert device is not None
    now = ms(clock.now)

    def reading(ts: int) -> Sample:
        return Sample(ts, 10.0, 230.0, 0.05, 1.0, True)

    async with engine.connect() as one, engine.connect() as two:  # two pooled connections
        for conn in (one, two):
            await conn.exec_driver_sql("SELECT 1")
    assert await ingest.store([(device, reading(now - 3000))]) == (1, 0)
    killed = await terminate_other_backends(database_url, clients_only=True)
    assert killed >= 2
    with pytest.raises(InterfaceError) as lost:
        await ingest.store([(device, reading(now - 2000))])
    assert lost.value.connection_invalidated
    assert await ingest.store([(device, reading(now - 2000))]) == (1, 0)
    assert await ingest.store([(device, reading(now - 1000))]) == (1, 0)
