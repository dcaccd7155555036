"""Engine creation: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


READ_ONLY = "greennet_read_only"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`; SQLite files get WAL and enforced foreign keys."""
    parsed = make_url(url)
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(f"unsupported database {parsed.drivername!r}; use {SUPPORTED_DRIVERS}")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def sqlite_writer(url: str) -> Engine | None:
    """For a SQLite URL, a synchronous engine on the same file with the same settings, for
    writes that run whole in a worker thread (telemetry batches); None otherwise."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    engine = create_sync_engine(
        parsed.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 30}
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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
        # a read never upgrades to a write, so it cannot deadlock: let readers run side by
        # side (WAL) instead of queueing on the write lock behind the busy handler's sleeps
        conn.exec_driver_sql("BEGIN")
        return
    # take the write lock up front: two deferred transactions upgrading at once deadlock
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for transactions that only read."""
    return engine.execution_options(**{READ_ONLY: True})
