"""One thread hop per SQLite statement instead of four, none for an empty commit.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes four such calls per statement (open a cursor, execute, fetch all, close), each a
round trip through a queue, a thread wake-up and the GIL: on two busy cores about a third of
a millisecond each (bench/RESULTS.md). This cursor does the four in one call on that thread.
It replaces only the cursor class of SQLAlchemy's aiosqlite adapter, whose connection,
transactions and error translation stay as they are; the locked versions are tested
(tests/backend runs every storage test on SQLite). No maintained library does this: the
adapter's cursor is internal to SQLAlchemy, hence this small subclass.

Single-statement reads (`reading_each_statement`; the authenticated hot path goes further,
db/fast_reads.py) make no hop at all: their statement runs on the event loop's thread, with
the connection's busy timeout at zero. A small indexed read takes tens of microseconds
there, less than the hop it saves, and under WAL a reader almost never waits for a lock.
When it would (a checkpoint resetting the WAL, another process holding the file
exclusively), SQLite answers SQLITE_BUSY at once and the statement runs again on the
connection's thread, waiting there as long as any other statement would
(`BUSY_TIMEOUT_MS`): the loop never sleeps on a lock.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

type _Outcome = tuple[Any, int, int | None, list[Any] | None]

BUSY_TIMEOUT_MS = 30_000  # how long a statement on the connection's thread waits for a lock
_INLINE = "_greennet_inline_reads"  # attribute of the aiosqlite connection: run on the loop
_BUSY_MS = "_greennet_busy_timeout_ms"  # the connection's busy timeout as last set
_LOCK_ERRORS = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: execute, fetch everything, close; return what's needed."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _set_busy_timeout(owner: Any, milliseconds: int) -> None:
    """Set the busy timeout of an aiosqlite connection's sqlite3 connection, if it differs."""
    if getattr(owner, _BUSY_MS, BUSY_TIMEOUT_MS) != milliseconds:
        owner._conn.execute(f"PRAGMA busy_timeout={int(milliseconds)}")
        setattr(owner, _BUSY_MS, milliseconds)


def _on_connection_thread(owner: Any, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: with the full busy timeout, run the statement."""
    _set_busy_timeout(owner, BUSY_TIMEOUT_MS)
    return _run(owner._conn, operation, parameters, many)


def _on_loop_thread(owner: Any, operation: str, parameters: Any) -> _Outcome:
    """On the event loop's thread: the statement, refused at once (SQLITE_BUSY) if it would
    have to wait for a lock."""
    _set_busy_timeout(owner, 0)
    return _run(owner._conn, operation, parameters, False)


def set_inline_reads(dbapi_connection: Any, inline: bool) -> None:
    """From now on, run this connection's single statements on the loop's thread (or not);
    set at the start of each transaction (SQLAlchemy's `begin` event)."""
    if isinstance(dbapi_connection, OneHopConnection):
        setattr(dbapi_connection._connection, _INLINE, inline)


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered DBAPI cursor whose statement runs in a single aiosqlite call."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # no aiosqlite cursor to open: each statement brings its own sqlite3 cursor
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor closed on its thread already."""

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._one_hop(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._one_hop(operation, seq_of_parameters, many=True)

    async def _one_hop(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: Any = self._connection
        outcome: _Outcome | None = None
        async with self._adapt_connection._execute_mutex:
            if not many and getattr(connection, _INLINE, False):
                try:
                    outcome = _on_loop_thread(connection, operation, parameters)
                except sqlite3.OperationalError as err:
                    if err.sqlite_errorcode not in _LOCK_ERRORS:
                        raise
            if outcome is None:
                outcome = await connection._execute(
                    _on_connection_thread, connection, operation, parameters, many
                )
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows or ())


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapted aiosqlite connection, with `OneHopCursor` for plain cursors, and
    no thread hop for a commit or rollback with no transaction open.

    SQLAlchemy commits every `begin()` block, also a read whose statements ran without BEGIN
    (`reading_each_statement`); sqlite3 itself does nothing then (it checks
    `sqlite3_get_autocommit`), but aiosqlite still sends the call to the connection's thread
    and back. `in_transaction` reads that same flag and is safe from any thread.
    """

    __slots__ = ()
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = OneHopCursor

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def _in_transaction(self) -> bool:
        sqlite_connection: sqlite3.Connection | None = self._connection._connection
        # a closed connection: let aiosqlite's own handling (and errors) apply
        return sqlite_connection is None or sqlite_connection.in_transaction


def use_one_hop_cursors(dbapi_connection: Any) -> None:
    """Switch a freshly adapted aiosqlite connection (a `connect` event) to `OneHopCursor`."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneHopConnection
