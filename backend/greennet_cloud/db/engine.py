"""Engine creation: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .sqlite_cursor import BUSY_TIMEOUT_MS, set_inline_reads, use_one_hop_cursors

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


READ_ONLY = "greennet_read_only"
EACH_STATEMENT = "greennet_each_statement"


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
        # single-statement reads run on the loop's thread (db/sqlite_cursor.py), the rest on
        # each connection's own thread: sqlite3 must accept calls from both
        engine = create_async_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_reset_on_return=None,
            **pool,
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
    # its commits never checkpoint (an fsync): db/checkpoints.py does, beside it
    event.listen(engine, "connect", _no_automatic_checkpoints)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _no_automatic_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    # only reads run inline: a write may wait for the lock (or checkpoint) off the loop
    inline = bool(options.get(EACH_STATEMENT) and options.get(READ_ONLY))
    set_inline_reads(conn.connection.dbapi_connection, inline)
    if options.get(EACH_STATEMENT):
        # no BEGIN: each statement is its own snapshot (reads run on the loop's thread) or
        # its own transaction (`autocommit` writes: the lock for that statement only, waiting
        # in the busy handler on the connection's thread like BEGIN IMMEDIATE)
        return
    if options.get(READ_ONLY):
        # a read never upgrades to a write, so it cannot deadlock: let readers run side by
        # side (WAL) instead of queueing on the write lock behind the busy handler's sleeps
        conn.exec_driver_sql("BEGIN")
        return
    # take the write lock up front: two deferred transactions upgrading at once deadlock
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for work that only reads. On SQLite its statements share one
    snapshot (a deferred BEGIN, beside the writer instead of behind it). On PostgreSQL each
    statement sees what is committed when it starts (READ COMMITTED, as in any transaction
    there), so it runs without BEGIN/COMMIT round trips."""
    return _with_options(engine, "_greennet_reading", _read_options(engine))


def reading_each_statement(engine: AsyncEngine) -> AsyncEngine:
    """For reads whose statements need not share a snapshot (typically one statement on a
    hot path): on SQLite too, each runs on its own, without BEGIN, on the event loop's thread
    (no thread hop; a statement that would wait for a lock runs on the connection's thread
    instead, see db/sqlite_cursor.py). Keep these statements small and indexed."""
    options = {**_read_options(engine), EACH_STATEMENT: True}
    return _with_options(engine, "_greennet_reading_each_statement", options)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """For writes of one statement each on a hot path (a row appended, one row updated):
    every statement commits on its own, without BEGIN/COMMIT (on SQLite two thread hops
    fewer, and the write lock held for that statement only; on PostgreSQL two round trips
    fewer). Statements in one `begin()` block are then *not* atomic together."""
    options: dict[str, Any] = {EACH_STATEMENT: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return _with_options(engine, "_greennet_autocommit", options)


def _read_options(engine: AsyncEngine) -> dict[str, Any]:
    if engine.dialect.name == "postgresql":
        return {READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}
    return {READ_ONLY: True}


def _with_options(engine: AsyncEngine, name: str, options: dict[str, Any]) -> AsyncEngine:
    # made once per engine (kept on it): an option engine per request was a measurable cost
    derived: AsyncEngine | None = getattr(engine.sync_engine, name, None)
    if derived is None:
        derived = engine.execution_options(**options)
        setattr(engine.sync_engine, name, derived)
    return derived
