"""`db.engine.autocommit`: statements that commit on their own (the remote command's audit
row and outcome use it), on both databases; on SQLite without a thread hop to BEGIN or to
commit nothing, while ordinary transactions still commit and roll back as one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiosqlite.core
import pytest
from greennet_cloud.db.engine import autocommit, create_engine
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class Boom(Exception):
    """Raised inside a block, after its statements."""


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE entries (n INTEGER)"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def entries(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return [row.n for row in await conn.execute(text("SELECT n FROM entries ORDER BY n"))]


async def insert_then_fail(engine: AsyncEngine, *values: int) -> None:
    """Insert `values` in one `begin()` block of `engine`, then raise `Boom` inside it."""
    async with engine.begin() as conn:
        for value in values:
            await conn.execute(text("INSERT INTO entries VALUES (:n)"), {"n": value})
        raise Boom


async def test_each_statement_commits_on_its_own_and_a_transaction_as_one(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(Boom):
        await insert_then_fail(autocommit(engine), 1, 2)
    assert await entries(engine) == [1, 2]  # kept: each was committed when it ran
    with pytest.raises(Boom):
        await insert_then_fail(engine, 3)
    assert await entries(engine) == [1, 2]  # rolled back as one
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO entries VALUES (4)"))
        await conn.execute(text("UPDATE entries SET n = n + 10 WHERE n = 4"))
    assert await entries(engine) == [1, 2, 14]


async def test_on_sqlite_a_statement_is_one_thread_hop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("thread hops are aiosqlite's")
    async with autocommit(engine).begin() as conn:  # the pooled connection is open
        await conn.execute(text("SELECT 1"))
    hops: list[str] = []
    real = aiosqlite.core.Connection._execute

    async def counted(self: Any, function: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        hops.append(getattr(function, "__name__", "?"))
        return await real(self, function, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    async with autocommit(engine).begin() as conn:
        await conn.execute(text("INSERT INTO entries VALUES (5)"))
    assert hops == ["_on_connection_thread"]  # the statement; no BEGIN, no COMMIT of nothing
    hops.clear()
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO entries VALUES (6)"))
    assert hops == [
        "_on_connection_thread",
        "_on_connection_thread",
        "commit",
    ]  # BEGIN IMMEDIATE, the statement, COMMIT
    assert await entries(engine) == [5, 6]
