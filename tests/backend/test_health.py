"""`/healthz` tells a load balancer whether the database answers, probing it at most once
a second however often it is called."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from greennet_cloud.web import health
from greennet_cloud.web.health import DatabaseHealth
from sqlalchemy.engine import make_url

from .api import Api


async def test_concurrent_health_checks_share_one_database_probe(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = 0
    probe = DatabaseHealth._probe

    async def counted(self: DatabaseHealth) -> bool:
        nonlocal probes
        probes += 1
        return await probe(self)

    monkeypatch.setattr(DatabaseHealth, "_probe", counted)
    replies = await asyncio.gather(*(api.call("GET", "/healthz") for _ in range(50)))
    assert {(reply.status, reply.body["status"]) for reply in replies} == {(200, "ok")}
    again = await api.call("GET", "/healthz")
    assert (again.status, probes) == (200, 1)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_lost_database_turns_health_to_503_within_a_probe_period(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "PROBE_SECONDS", 0.05)
    assert (await api.call("GET", "/healthz")).status == 200
    url = make_url(database_url)
    database = url.database
    # from the maintenance database: a database cannot close its own doors
    admin = await asyncpg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        # the database stays down (no new connections) until the test says so: a background
        # task of the app (outbox, jobs) reconnecting first cannot turn it healthy early
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            database,
        )
        await asyncio.sleep(0.1)
        down = await api.call("GET", "/healthz")
        assert (down.status, down.error) == (503, "database_unavailable")
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()
    await asyncio.sleep(0.1)
    assert (await api.call("GET", "/healthz")).status == 200  # the pool reconnected
