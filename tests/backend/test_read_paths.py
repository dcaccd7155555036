"""Reads never queue for the SQLite write lock: read-only requests begin deferred, so under
WAL they answer while another connection holds the write lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from greennet_cloud.db import sqlite_cursor
from greennet_cloud.db.engine import autocommit, create_engine, reading, reading_each_statement
from greennet_cloud.db.sqlite_cursor import BUSY_TIMEOUT_MS
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .api import Api
from .conftest import FakeClock, admin_account

PLUG = "greennet-5e1f00"
# every read-only endpoint; {home}, {user}, {device} are filled in by the test
READS = (
    "/api/v1/users/me",
    "/api/v1/users",
    "/api/v1/users/{user}",
    "/api/v1/homes",
    "/api/v1/homes/{home}",
    "/api/v1/homes/{home}/devices",
    "/api/v1/homes/{home}/shares",
    "/api/v1/homes/{home}/link-tokens",
    "/api/v1/devices",
    "/api/v1/devices/{device}",
    "/api/v1/devices/{device}/credentials",
    "/api/v1/devices/{device}/shares",
)


@pytest.fixture
def database_url(tmp_path: Path, socket_enabled: None) -> str:
    """SQLite only: PostgreSQL readers never take a write lock."""
    return f"sqlite+aiosqlite:///{tmp_path / 'greennet.db'}"


@contextmanager
def write_lock_held(database: Path) -> Iterator[None]:
    """Another connection holds the database's write lock for the duration."""
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        # the premise: a writer that will not wait is refused at once
        other = sqlite3.connect(database, isolation_level=None, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("path", READS)
async def test_reads_answer_while_another_connection_holds_the_write_lock(
    api: Api, clock: FakeClock, tmp_path: Path, path: str
) -> None:
    owner = await admin_account(api, clock, "owner@example.com")
    friend = await api.account("friend@example.com")
    home = await api.call("POST", "/api/v1/homes", token=owner.access, json_body={"name": "Flat"})
    home_id = home.body["id"]
    device = (await api.plug(owner.access, home_id, PLUG))["device"]["id"]
    setup = [
        (f"/api/v1/homes/{home_id}/shares", {"email": friend.email, "permission": "read"}),
        (f"/api/v1/devices/{device}/shares", {"email": friend.email, "permission": "control"}),
        (f"/api/v1/homes/{home_id}/link-tokens", {"name": "HA"}),
    ]
    for url, body in setup:
        assert (await api.call("POST", url, token=owner.access, json_body=body)).status == 201

    with write_lock_held(tmp_path / "greennet.db"):
        reply = await api.call(
            "GET", path.format(home=home_id, user=friend.id, device=device), token=owner.access
        )
    assert reply.status == 200, reply.body
    assert reply.body


async def test_a_read_transaction_keeps_one_snapshot_and_single_reads_see_the_latest(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'snapshots.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE readings (n INTEGER)"))
        count = text("SELECT count(*) FROM readings")

        async def counts_around_a_commit(reader: AsyncEngine) -> tuple[int, int]:
            async with reader.begin() as conn:
                before = (await conn.execute(count)).scalar_one()
                async with engine.begin() as writer:  # another connection commits meanwhile
                    await writer.execute(text("INSERT INTO readings VALUES (1)"))
                return before, (await conn.execute(count)).scalar_one()

        assert await counts_around_a_commit(reading(engine)) == (0, 0)
        assert await counts_around_a_commit(reading_each_statement(engine)) == (1, 2)
    finally:
        await engine.dispose()


async def test_a_single_statement_read_makes_no_thread_hop_and_writes_still_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single-statement read runs on the loop's thread (its empty commit costs nothing);
    a write still runs on the connection's thread and commits, a failed one rolls back."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    hops = count_thread_hops(monkeypatch)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE readings (n INTEGER)"))
        hops.clear()
        async with reading_each_statement(engine).begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM readings"))).scalar_one() == 0
        assert hops == []

        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO readings VALUES (1)"))
        assert hops == ["_on_connection_thread", "_on_connection_thread", "commit"]  # BEGIN

        async def failing_write() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO readings VALUES (2)"))
                raise RuntimeError("the write fails after its insert")

        with pytest.raises(RuntimeError):
            await failing_write()
        assert hops[-1] == "rollback"
        async with reading_each_statement(engine).begin() as conn:
            assert (await conn.execute(text("SELECT n FROM readings"))).all() == [(1,)]
    finally:
        await engine.dispose()


async def test_a_self_committing_write_runs_on_its_connection_thread_not_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`autocommit` writes skip BEGIN as single reads do, but not the thread: a write may
    wait for the write lock (or a checkpoint), which the loop's thread must never do."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}")
    hops = count_thread_hops(monkeypatch)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE readings (n INTEGER)"))
        hops.clear()
        async with autocommit(engine).begin() as conn:
            await conn.execute(text("INSERT INTO readings VALUES (1)"))
        assert hops == ["_on_connection_thread"]  # the statement; no BEGIN, no empty COMMIT
        async with reading_each_statement(engine).begin() as conn:
            assert (await conn.execute(text("SELECT n FROM readings"))).all() == [(1,)]
        assert hops == ["_on_connection_thread"]  # the read after it stays on the loop
    finally:
        await engine.dispose()


def count_thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the functions sent to aiosqlite's connection threads from now on."""
    hops: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return hops


def genuine_busy_error(database: Path) -> sqlite3.OperationalError:
    """What SQLite raises when a statement would have to wait for a lock (busy timeout 0)."""
    holder = sqlite3.connect(database, isolation_level=None)
    other = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as refused:
            other.execute("BEGIN IMMEDIATE")
    finally:
        holder.close()
        other.close()
    assert refused.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    return refused.value


async def test_reads_on_the_loop_never_wait_for_a_lock_and_run_again_on_their_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}")
    busy_timeout = text("PRAGMA busy_timeout")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE readings (n INTEGER)"))
            await conn.execute(text("INSERT INTO readings VALUES (1)"))
        async with reading_each_statement(engine).begin() as conn:
            assert (await conn.execute(busy_timeout)).scalar_one() == 0  # on the loop
        async with engine.begin() as conn:  # the same pooled connection, on its thread
            assert (await conn.execute(busy_timeout)).scalar_one() == BUSY_TIMEOUT_MS

        # SQLite refuses the read on the loop (another connection holds a lock it needs):
        # it runs again on the connection's thread, which waits for locks
        refusal = genuine_busy_error(tmp_path / "locked.db")
        refused: list[str] = []

        def refusing(owner: Any, operation: str, parameters: Any) -> Any:
            refused.append(operation)
            raise refusal

        monkeypatch.setattr(sqlite_cursor, "_on_loop_thread", refusing)
        hops = count_thread_hops(monkeypatch)
        async with reading_each_statement(engine).begin() as conn:
            assert (await conn.execute(text("SELECT n FROM readings"))).all() == [(1,)]
        assert refused == ["SELECT n FROM readings"]
        assert hops == ["_on_connection_thread"]
    finally:
        await engine.dispose()
