"""Alerts that depend on more than one reading: energy used today (from the hourly rollups,
in the home's time zone), quiet hours in the home's time zone, and the offline check run by
the job runner once across several app instances on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from greennet_cloud.web.alerting import ALERT_JOB
from greennet_cloud.web.keys import JOBS

from .alerting import add_rule, alert_notifications, alerts_of, household, report
from .conftest import ApiFactory, FakeClock
from .notifying import app_of


async def test_energy_used_today_counts_from_local_midnight(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(run_jobs=False)  # the test runs the rollups itself
    clock.now = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    home = await household(api, timezone="Europe/Berlin")
    await add_rule(api, home, metric="energy_today", direction="above", value=1.0)
    rollups = app_of(api)[JOBS]

    await report(api, clock, home, energy=100.0)
    clock.advance(20 * 60)  # 23:50: 2 kWh yesterday (local)
    await report(api, clock, home, energy=102.0)
    await rollups.run_job("rollups", force=True)
    clock.advance(20 * 60)  # 00:10 local, a new day: 0.5 kWh so far
    await report(api, clock, home, energy=102.5)
    await rollups.run_job("rollups", force=True)
    clock.advance(60)
    await report(api, clock, home, energy=102.6)
    assert await alerts_of(api, home.owner) == []
    clock.advance(20 * 60)  # a counter reset (the plug was replaced) is a new cycle
    await report(api, clock, home, energy=0.2)
    await rollups.run_job("rollups", force=True)
    clock.advance(60)
    await report(api, clock, home, energy=0.8)
    await rollups.run_job("rollups", force=True)
    clock.advance(60)
    await report(api, clock, home, energy=0.9)  # 0.6 + 0.8 = 1.4 kWh today
    [alert] = await alerts_of(api, home.owner)
    assert alert["metric"] == "energy_today"
    assert 1.0 < alert["value"] < 2.0
    [note] = await alert_notifications(api, home.owner)
    assert note["title"] == "Plug 01: energy today above 1 kWh"


async def test_quiet_hours_follow_the_homes_time_zone(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api()
    clock.now = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 22:30 in Berlin, 21:30 in UTC
    home = await household(api, timezone="Europe/Berlin")
    await add_rule(api, home, metric="power", direction="above", value=100,
                   quiet_hours={"start": "22:00", "end": "07:00"})  # fmt: skip
    await report(api, clock, home, power=1000)
    assert len(await alerts_of(api, home.owner)) == 1
    assert await alert_notifications(api, home.owner) == []  # quiet in Berlin
    clock.now = datetime(2026, 12, 2, 5, 59, tzinfo=UTC)  # 06:59 in Berlin
    await app_of(api)[JOBS].run_job(ALERT_JOB, force=True)
    assert await alert_notifications(api, home.owner) == []
    clock.now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    await app_of(api)[JOBS].run_job(ALERT_JOB, force=True)
    assert len(await alert_notifications(api, home.owner)) == 1


async def test_the_offline_check_runs_once_across_instances(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    instances = [await make_api(run_jobs=False) for _ in range(3)]
    api = instances[0]
    home = await household(api)
    await add_rule(api, home, metric="offline", duration_seconds=600)
    await report(api, clock, home)
    clock.advance(600)

    ran = await asyncio.gather(
        *(app_of(instance)[JOBS].run_job(ALERT_JOB) for instance in instances)
    )
    assert sorted(ran) == [False, False, True]
    [alert] = await alerts_of(api, home.owner)
    assert alert["metric"] == "offline"
    for who in (home.owner, home.controller, home.reader):
        assert len(await alert_notifications(api, who)) == 1
    # within the minute nobody runs it again; after it, one does, and adds nothing
    assert not any(await asyncio.gather(*(app_of(i)[JOBS].run_job(ALERT_JOB) for i in instances)))
    clock.advance(60)
    ran = await asyncio.gather(*(app_of(i)[JOBS].run_job(ALERT_JOB) for i in instances))
    assert sorted(ran) == [False, False, True]
    assert len(await alerts_of(api, home.owner)) == 1
