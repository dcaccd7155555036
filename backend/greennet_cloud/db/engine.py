"""Engine creation: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .sqlite_cursor import use_one_hop_cursors

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


READ_ONLY = "greennet_read_only"


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine for `url`; SQLite files get WAL and enforced foreign keys."""
    parsed = make_url(url)
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(f"unsupported database {parsed.drivername!r}; use {SUPPORTED_DRIVERS}")
    if parsed.drivername.startswith("sqlite"):
        pool: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            pool = _pool(pool_size)  # (a memory database has one static connection)
        # every statement is a thread hop with aiosqlite; a Connection ends its own transaction
        # (commit or rollback) before checkin, so the pool's extra rollback is only one more hop
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_reset_on_return=None, **pool
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # no pre-ping round trip per checkout: a connection found dead fails its request with 503
    # (web.middleware) and SQLAlchemy replaces the whole pool's connections
    return create_async_engine(url, **_pool(pool_size))


def _pool(size: int) -> dict[str, Any]:
    # A fixed pool: under load, overflow connections were opened and closed per request (a
    # PostgreSQL backend forked, an aiosqlite thread started, each time). Requests beyond it
    # wait for a connection; after `pool_timeout` they get 503 (web.middleware).
    return {"pool_size": size, "max_overflow": 0, "pool_timeout": 10}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    use_one_hop_cursors(dbapi_connection)
    # we emit BEGIN ourselves (below) instead of the driver's implicit deferred one
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL's recommended level: a commit is not fsynced, a checkpoint is; an application
    # crash loses nothing, a power cut at most the last commits, and nothing is corrupted
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        # no BEGIN: each read statement runs on its own snapshot (WAL), side by side with the
        # writer instead of queueing on the write lock, and costs no extra thread hops
        return
    # take the write lock up front: two deferred transactions upgrading at once deadlock
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for work that only reads: every statement commits on its
    own (no BEGIN/COMMIT round trips; several statements may see different snapshots)."""
    # made once per engine (kept on it): an option engine per request was a measurable cost
    reader: AsyncEngine | None = getattr(engine.sync_engine, _READER, None)
    if reader is None:
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        reader = engine.execution_options(**options)
        setattr(engine.sync_engine, _READER, reader)
    return reader


_READER = "_greennet_reader"
