"""One thread hop per SQLite statement instead of four, none to commit nothing.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes four such calls per statement (open a cursor, execute, fetch all, close), each a
round trip through a queue, a thread wake-up and the GIL: on two busy cores about a third of
a millisecond each (bench/RESULTS.md). This cursor does the four in one call on that thread.
It replaces only the cursor class of SQLAlchemy's aiosqlite adapter, whose connection,
transactions and error translation stay as they are; the locked versions are tested
(tests/backend runs every storage test on SQLite). No maintained library does this: the
adapter's cursor is internal to SQLAlchemy, hence this small subclass.
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
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(
                _run, connection._conn, operation, parameters, many
            )
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows or ())


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapted aiosqlite connection, with `OneHopCursor` for plain cursors.

    `commit` and `rollback` with no transaction open (statements that committed on their
    own, `db.engine.autocommit`) skip their thread hop: sqlite3 would do nothing there."""

    __slots__ = ()
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = OneHopCursor

    def commit(self) -> None:
        if _in_transaction(self):
            super().commit()

    def rollback(self) -> None:
        if _in_transaction(self):
            super().rollback()


def _in_transaction(adapted: AsyncAdapt_aiosqlite_connection) -> bool:
    """Whether the sqlite3 connection has a transaction open (no statement runs on it while
    SQLAlchemy commits, so reading the flag from the loop's thread is safe)."""
    raw: sqlite3.Connection | None = adapted._connection._connection
    return raw is not None and raw.in_transaction


def use_one_hop_cursors(dbapi_connection: Any) -> None:
    """Switch a freshly adapted aiosqlite connection (a `connect` event) to `OneHopCursor`."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneHopConnection
