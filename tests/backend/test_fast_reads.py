"""Hot reads through the driver (db/fast_reads.py): the same rows as through SQLAlchemy, on
the loop's thread on SQLite (on the connection's thread when SQLite would make it wait),
connections handed out in arrival order on PostgreSQL, and a lost connection is a 503."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from greennet_cloud.config import Config, config_from_env
from greennet_cloud.db import fast_reads as fast_reads_module
from greennet_cloud.db import migrate as migrations
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.fast_reads import FastReads, ReadQuery, fast_reads
from greennet_cloud.db.schema import homes, shares
from greennet_cloud.models import Access, Permission, Role
from greennet_cloud.storage import homes as home_store
from greennet_cloud.storage import sessions as session_store
from greennet_cloud.storage import users as user_store
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from .api import Api
from .conftest import ApiFactory
from .postgres import terminate_other_backends
from .test_read_paths import count_thread_hops, genuine_busy_error

NOW = datetime(2026, 12, 1, 21, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await migrations.migrate(engine)
        yield engine
    finally:
        await engine.dispose()


async def seed(engine: AsyncEngine) -> None:
    """alice owns two homes (one with a tariff) and shares one with bob; carol sees none."""
    async with engine.begin() as conn:
        for user_id in ("alice", "bob", "carol"):
            await user_store.insert_user(
                conn,
                user_id=user_id,
                email=f"{user_id}@example.com",
                password_hash="x",
                role=Role.USER,
                display_name=user_id,
                now=NOW,
            )
        await home_store.insert_home(conn, owner_id="alice", home_id="h1", name="A", now=NOW)
        later = NOW + timedelta(seconds=1)
        await home_store.insert_home(
            conn, owner_id="alice", home_id="h2", name="B", now=later, timezone="Europe/Berlin"
        )
        await home_store.update_home(
            conn, "alice", "h2", {"tariff_price_per_kwh": 0.31, "tariff_currency": "EUR"}
        )
        await conn.execute(
            shares.insert().values(
                id="s1", home_id="h2", grantee_id="bob", permission=Permission.CONTROL.value,
                created_at=NOW,
            )
        )  # fmt: skip
        await session_store.create_session(
            conn, user_id="alice", session_id="sess", now=NOW, expires_at=NOW + timedelta(days=1)
        )


async def test_fast_reads_return_exactly_what_sqlalchemy_returns(engine: AsyncEngine) -> None:
    await seed(engine)
    reads = fast_reads(engine)
    for user_id in ("alice", "bob", "carol"):
        async with engine.connect() as conn:
            expected = await home_store.list_homes(conn, user_id)
            expected_user = await user_store.get_user(conn, user_id)
            expected_session = await session_store.get_session(conn, user_id, "sess")
        assert await home_store.list_homes(reads, user_id) == expected
        assert await user_store.get_user(reads, user_id) == expected_user
        assert await session_store.get_session(reads, user_id, "sess") == expected_session
        for home_id in ("h1", "h2", "nope"):
            async with engine.connect() as conn:
                expected_home = await home_store.get_home(conn, user_id, home_id)
            assert await home_store.get_home(reads, user_id, home_id) == expected_home

    alice = await home_store.list_homes(reads, "alice")
    assert [(home.id, access) for home, access in alice] == [
        ("h1", Access.OWNER),
        ("h2", Access.OWNER),
    ]
    home = alice[1][0]
    assert home.created_at == NOW + timedelta(seconds=1)  # aware UTC, microseconds kept
    assert home.created_at.tzinfo is not None
    assert home.tariff is not None
    assert (home.tariff.price_per_kwh, home.tariff.currency) == (0.31, "EUR")
    assert [(h.id, a) for h, a in await home_store.list_homes(reads, "bob")] == [
        ("h2", Access.CONTROL)
    ]
    assert await home_store.list_homes(reads, "carol") == []
    assert await home_store.get_home(reads, "carol", "h2") is None
    session = await session_store.get_session(reads, "alice", "sess")
    assert session is not None
    assert session.expires_at == NOW + timedelta(days=1)
    assert await session_store.get_session(reads, "bob", "sess") is None


async def test_fast_reads_see_a_commit_at_once(engine: AsyncEngine) -> None:
    await seed(engine)
    reads = fast_reads(engine)
    assert len(await home_store.list_homes(reads, "carol")) == 0
    async with engine.begin() as conn:
        await home_store.insert_home(conn, owner_id="carol", home_id="h3", name="C", now=NOW)
    assert [h.id for h, _ in await home_store.list_homes(reads, "carol")] == ["h3"]
    async with engine.begin() as conn:
        await home_store.delete_home(conn, "carol", "h3")
    assert await home_store.list_homes(reads, "carol") == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_fast_read_runs_on_the_loop_and_read_only(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    hops = count_thread_hops(monkeypatch)
    reads = fast_reads(engine)
    assert len(await home_store.list_homes(reads, "alice")) == 2
    assert hops == []
    connection = reads._sqlite_connection()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute("DELETE FROM homes")
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (0,)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_read_sqlite_would_make_wait_runs_on_the_connection_thread(
    engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    refusal = genuine_busy_error(Path(make_url(database_url).database or ""))
    reads = fast_reads(engine)

    class Refusing:
        def execute(self, *_args: Any) -> Any:
            raise refusal

    monkeypatch.setattr(reads, "_sqlite_connection", Refusing)
    hops = count_thread_hops(monkeypatch)
    monkeypatch.setattr(
        "greennet_cloud.db.sqlite_cursor._on_loop_thread",
        lambda *_args: (_ for _ in ()).throw(refusal),
    )
    found = await home_store.list_homes(reads, "alice")
    assert [home.id for home, _ in found] == ["h1", "h2"]
    assert found[1][0].created_at == NOW + timedelta(seconds=1)
    assert hops == ["_on_connection_thread"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_connections_go_to_waiters_in_arrival_order(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_reads_module, "READ_CONNECTIONS", 1)
    reads = FastReads(engine)
    connections = reads._pg
    assert connections is not None
    held = await connections.take()
    order: list[int] = []

    async def wait(n: int) -> None:
        conn = await connections.take()
        order.append(n)
        await asyncio.sleep(0)
        connections.give(conn)

    waiters = []
    for n in range(5):
        waiters.append(asyncio.create_task(wait(n)))
        await asyncio.sleep(0)  # each queues before the next arrives
    connections.give(held)
    newcomer = await connections.take()  # arrives after the waiters: it must not overtake
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2, 3, 4]
    assert newcomer is held
    connections.give(newcomer)
    await reads.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_read_waiting_past_the_pool_timeout_fails_with_a_pool_timeout(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_reads_module, "READ_CONNECTIONS", 1)
    reads = FastReads(engine)
    connections = reads._pg
    assert connections is not None
    connections._timeout = 0.05
    held = await connections.take()
    with pytest.raises(PoolTimeout):
        await home_store.list_homes(reads, "alice")
    connections.give(held)
    assert await home_store.list_homes(reads, "alice") == []  # the connection is usable
    await reads.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_fast_read_finding_its_connection_dead_never_answers_500(
    api: Api, database_url: str
) -> None:
    """A read whose pooled connection the server ended answers 503 with Retry-After (when
    the loss shows during the query) or, when asyncpg saw it first, opens a new connection
    and answers 200; the next read works either way."""
    user = await api.account("outage@example.com")
    assert (await api.call("GET", "/api/v1/homes", token=user.access)).status == 200
    killed = await terminate_other_backends(database_url)
    assert killed >= 1
    lost = await api.call("GET", "/api/v1/homes", token=user.access)
    assert (lost.status, lost.headers.get("Retry-After")) in {(200, None), (503, "1")}, lost.body
    again = await api.call("GET", "/api/v1/homes", token=user.access)
    assert again.status == 200, again.body


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_read_cancelled_mid_statement_does_not_spoil_the_next(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request cancelled while its statement runs (server shutdown, a timeout) leaves its
    connection in an unknown state: it is closed, and the next read gets a fresh one."""
    await seed(engine)
    monkeypatch.setattr(fast_reads_module, "READ_CONNECTIONS", 1)
    reads = FastReads(engine)
    slow = asyncio.create_task(reads.all(ReadQuery(select(func.pg_sleep(5).label("slept"))), {}))
    await asyncio.sleep(0.5)  # the statement is running
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    async with asyncio.timeout(3):
        found = await home_store.list_homes(reads, "alice")
    assert [home.id for home, _ in found] == ["h1", "h2"]
    await reads.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_the_configured_read_connections_are_opened_on_demand_and_no_more(
    make_api: ApiFactory,
) -> None:
    api = await make_api(database_read_connections=3)
    user = await api.account("sized@example.com")
    reads = fast_reads(api.client.app[ENGINE])
    assert reads._pg is not None
    assert reads._pg._opened <= 1  # only what the account's own requests needed so far
    answers = await asyncio.gather(
        *(api.call("GET", "/api/v1/homes", token=user.access) for _ in range(30))
    )
    assert [answer.status for answer in answers] == [200] * 30
    assert reads._pg._opened <= 3
    # thirty statements that cannot share a round trip (no parameters) at once: every
    # allowed connection, not one more
    slow = ReadQuery(select(func.pg_sleep(0.05).label("slept")))
    await asyncio.gather(*(reads.all(slow, {}) for _ in range(30)))
    assert reads._pg._opened == 3


class RoundTrips:
    """Counts the statements `FastReads` sends to PostgreSQL (a connection taken each)."""

    def __init__(self, reads: FastReads, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        connections = reads._pg
        assert connections is not None
        take = connections.take

        async def counted() -> Any:
            self.count += 1
            return await take()

        monkeypatch.setattr(connections, "take", counted)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_reads_of_one_turn_share_a_round_trip_and_get_their_own_rows(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    async with engine.begin() as conn:  # stored in another order than the listing's
        for home_id, minutes in (("c3", 30), ("c1", -30), ("c2", 0)):
            at = NOW + timedelta(minutes=minutes)
            await home_store.insert_home(conn, owner_id="carol", home_id=home_id, name="C", now=at)
    reads = FastReads(engine)
    users = ["alice", "bob", "carol", "nobody"]
    expected = {}
    for user_id in users:  # one by one (the first also learns the statements' types)
        async with engine.connect() as conn:
            expected[user_id] = (
                await home_store.list_homes(conn, user_id),
                await session_store.get_session(conn, user_id, "sess"),
                await home_store.get_home(conn, user_id, "h2"),
            )
        assert await home_store.list_homes(reads, user_id) == expected[user_id][0]
        assert await session_store.get_session(reads, user_id, "sess") == expected[user_id][1]
        assert await home_store.get_home(reads, user_id, "h2") == expected[user_id][2]
    trips = RoundTrips(reads, monkeypatch)
    callers = users * 5
    found = await asyncio.gather(
        *(home_store.list_homes(reads, user_id) for user_id in callers),
        *(session_store.get_session(reads, user_id, "sess") for user_id in callers),
        *(home_store.get_home(reads, user_id, "h2") for user_id in callers),
    )
    n = len(callers)
    assert [h.id for h, _ in expected["carol"][0]] == ["c1", "c2", "c3"]
    assert found[:n] == [expected[user_id][0] for user_id in callers]  # in the listing's order
    assert found[n : 2 * n] == [expected[user_id][1] for user_id in callers]
    assert found[2 * n :] == [expected[user_id][2] for user_id in callers]
    assert trips.count == 3  # one statement for each of the three queries' 20 reads
    await reads.close()


@pytest.fixture
async def listing_reads(engine: AsyncEngine) -> AsyncIterator[FastReads]:
    """A `FastReads` on the seeded database that has run the home listing once (its
    statement's types are known, so it can be batched)."""
    await seed(engine)
    reads = FastReads(engine)
    await home_store.list_homes(reads, "alice")
    yield reads
    await reads.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_read_cancelled_in_a_batch_leaves_the_others_their_rows(
    listing_reads: FastReads,
) -> None:
    reads = listing_reads
    first = asyncio.create_task(home_store.list_homes(reads, "alice"))
    second = asyncio.create_task(home_store.list_homes(reads, "bob"))
    third = asyncio.create_task(home_store.list_homes(reads, "carol"))
    await asyncio.sleep(0)  # all three wait for the turn to end
    first.cancel()  # the one that would send the batch
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await third == []
    assert [h.id for h, _ in await home_store.list_homes(reads, "bob")] == ["h2"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_batch_losing_its_connection_is_a_503_for_each_of_its_reads(
    api: Api, database_url: str
) -> None:
    users = [await api.account(f"lost{n}@example.com") for n in range(3)]
    for user in users:  # the statements' types are known, and the connection is open
        assert (await api.call("GET", "/api/v1/homes", token=user.access)).status == 200
    assert await terminate_other_backends(database_url) >= 1
    answers = await asyncio.gather(
        *(api.call("GET", "/api/v1/homes", token=user.access) for user in users)
    )
    for answer in answers:
        assert (answer.status, answer.headers.get("Retry-After")) in {(200, None), (503, "1")}
    again = await asyncio.gather(
        *(api.call("GET", "/api/v1/homes", token=user.access) for user in users)
    )
    assert [answer.status for answer in again] == [200] * 3


def test_read_connections_default_to_16_and_are_configurable() -> None:
    assert Config().database_read_connections == 16
    config = config_from_env({"GREENNET_DB_READ_CONNECTIONS": "6"})
    assert config.database_read_connections == 6
    with pytest.raises(ValueError, match="GREENNET_DB_READ_CONNECTIONS"):
        config_from_env({"GREENNET_DB_READ_CONNECTIONS": "0"}, Config(secret="s" * 40)).resolve()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_distinct_read_is_not_batched_and_stays_distinct(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a row number added for batching would make alice's two rows distinct
    await seed(engine)
    owners = ReadQuery(
        select(homes.c.owner_id).distinct().where(homes.c.owner_id == bindparam("owner"))
    )
    reads = FastReads(engine)
    assert [tuple(row) for row in await reads.all(owners, {"owner": "alice"})] == [("alice",)]
    trips = RoundTrips(reads, monkeypatch)
    found = await asyncio.gather(*(reads.all(owners, {"owner": who}) for who in ["alice"] * 4))
    assert [[tuple(row) for row in rows] for rows in found] == [[("alice",)]] * 4
    assert trips.count == 4
    await reads.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_arguments_the_database_refuses_fail_only_their_own_read(
    listing_reads: FastReads,
) -> None:
    reads = listing_reads
    found = await asyncio.gather(
        home_store.list_homes(reads, "alice"),
        home_store.list_homes(reads, "bad\x00id"),  # PostgreSQL text cannot hold a NUL
        home_store.list_homes(reads, "bob"),
        return_exceptions=True,
    )
    assert [h.id for h, _ in found[0]] == ["h1", "h2"]  # type: ignore[union-attr]
    assert isinstance(found[1], DBAPIError)
    assert [h.id for h, _ in found[2]] == ["h2"]  # type: ignore[union-attr]
