"""Retention: raw telemetry, minute rollups and expired credentials go; hourly and daily
rollups stay; PostgreSQL loses whole daily partitions."""

from __future__ import annotations

from greennet_cloud.config import Retention
from greennet_cloud.db.schema import (
    ingest_signatures,
    pairing_codes,
    refresh_tokens,
    sessions,
    telemetry,
    telemetry_1d,
    telemetry_1h,
    telemetry_1m,
)
from greennet_cloud.web.keys import ENGINE, JOBS
from sqlalchemy import func, select, text

from .conftest import ApiFactory, FakeClock
from .telemetry import household, ms, sample

DAY = 86_400_000


async def counts(api, *tables) -> list[int]:  # type: ignore[no-untyped-def]
    async with api.client.app[ENGINE].connect() as conn:
        return [
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in tables
        ]


async def test_retention_keeps_each_level_its_configured_days(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    policy = Retention(raw_days=3, minute_days=5, hour_days=400, day_days=0)
    # Half past the hour: each group of samples below (two minutes long) then falls in one
    # hour and one day, whatever the time of day the test runs at.
    clock.advance(((30 - clock.now.minute) % 60) * 60 - clock.now.second)
    api = await make_api(retention=policy)
    home = await household(api, "keep@example.com")
    plug = home.plugs[0]
    now = ms(clock.now)
    assert (clock.now.minute, clock.now.second) == (30, 0)
    samples = [sample(now - 2 * DAY + i * 60_000, energy=i / 10) for i in range(3)]
    samples += [sample(now - 10 * 60_000 + i * 60_000, energy=1 + i / 10) for i in range(3)]
    assert (await home.send(api, plug, samples, now)).body["stored"] == 6
    code = await api.call("POST", f"/api/v1/homes/{home.home_id}/pairing-codes",
                          token=home.owner.access)  # fmt: skip
    assert code.status == 201
    jobs = api.client.app[JOBS]
    assert await jobs.run_job("rollups", force=True)
    assert await counts(api, telemetry, telemetry_1m, telemetry_1h, telemetry_1d) == [6, 6, 2, 2]
    # the owner's one login; two pairing codes (one used to pair); one signed request
    assert await counts(api, sessions, refresh_tokens, pairing_codes, ingest_signatures) == [
        1, 1, 2, 1,
    ]  # fmt: skip

    clock.advance(2 * 86_400)  # the old samples are 4 days old: past raw, not past 1m
    assert await jobs.run_job("retention", force=True)
    assert await counts(api, telemetry, telemetry_1m, telemetry_1h) == [3, 6, 2]
    # expired pairing codes and ingest signatures go; sessions still live stay
    assert await counts(api, sessions, pairing_codes, ingest_signatures) == [1, 0, 0]

    clock.advance(4 * 86_400)  # all samples past raw, the old minutes past 1m
    assert await jobs.run_job("retention", force=True)
    assert await counts(api, telemetry, telemetry_1m, telemetry_1h, telemetry_1d) == [0, 0, 2, 2]
    owner = await api.session(home.owner.email, home.owner.id)  # the old token expired
    energy = await api.call("GET", f"/api/v1/devices/{plug.id}/telemetry?resolution=1h"
                            f"&from={now - 3 * DAY}&to={now}", token=owner.access)  # fmt: skip
    assert len(energy.body["points"]) == 2  # history outlives the raw samples

    assert await counts(api, sessions, refresh_tokens) == [2, 2]
    clock.advance(40 * 86_400)  # sessions (30 days) expire; their refresh tokens go with them
    assert await jobs.run_job("retention", force=True)
    assert await counts(api, sessions, refresh_tokens) == [0, 0]


async def test_postgresql_drops_whole_daily_partitions(
    make_api: ApiFactory, clock: FakeClock, database_url: str
) -> None:
    api = await make_api(retention=Retention(raw_days=3, minute_days=3))
    if not database_url.startswith("postgresql"):
        return  # SQLite has one plain table (rows deleted above)
    home = await household(api, "parts@example.com")
    now = ms(clock.now)
    samples = [sample(now - day * DAY) for day in range(3)]
    await home.send(api, home.plugs[0], samples, now)

    async def partitions() -> set[str]:
        async with api.client.app[ENGINE].connect() as conn:
            rows = await conn.execute(
                text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                     " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'telemetry'")
            )  # fmt: skip
            return {name for (name,) in rows}

    before = await partitions()
    assert len(before) == 3
    clock.advance(2 * 86_400)
    assert await api.client.app[JOBS].run_job("retention", force=True)
    after = await partitions()
    assert len(before - after) == 1  # the oldest day, dropped as a table
    assert len(after - before) >= 2  # and the coming days made ahead
    assert await counts(api, telemetry) == [2]
