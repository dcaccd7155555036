"""Hot single-statement reads straight through the driver, without SQLAlchemy's execution.

An authenticated read spent about 0.3 ms of CPU in SQLAlchemy's asyncio layer for one small
indexed SELECT (connection checkout, greenlet, execution context, result object), where
the driver's own call costs tens of microseconds (bench/RESULTS.md, third pass). The few
statements on every request's path are declared as a `ReadQuery` (a SQLAlchemy Core
`Select`, compiled once per dialect by SQLAlchemy itself) and run here:

- SQLite: on one read-only (`query_only`) sqlite3 connection of this process, on the event
  loop's thread, with busy timeout 0. A statement takes tens of microseconds there and,
  under WAL, a reader almost never waits; when SQLite would make it wait (a checkpoint
  resetting the WAL, another process holding the file), SQLITE_BUSY comes back at once and
  the statement runs through the engine instead (its connection's thread waits).
- PostgreSQL: on a small asyncpg pool of this process (`GREENNET_DB_READ_CONNECTIONS`,
  opened on demand), handed out in arrival order (asyncpg's own queue lets newcomers
  overtake); asyncpg prepares each statement once per connection. A connection carries one
  query at a time and its answer is read once per turn of the event loop, so under load the
  pool's size bounds the reads answered per turn: with 4 connections a login flood (whose
  work lengthens each turn) halved the reads, with 16 it took a third (bench/RESULTS.md).
  Requests reaching the same statement in one turn of the loop share one round trip
  (`_postgresql`, `_batched_sql`): every round trip cost the process a send, a receive, a
  wake-up and asyncpg's bookkeeping, more than the statement itself.
  Connection failures answer 503 like the engine's (`sqlalchemy.exc.InterfaceError` with
  `connection_invalidated`), and the pool replaces every connection it has.

Each statement sees what is committed when it starts, as `reading_each_statement` does:
nothing here is cached. Rows are tuples with the columns as attributes, converted by the
same SQLAlchemy type processors the engine applies (time stamps, booleans), so storage code
reads them like SQLAlchemy rows. No expanding (`IN`) parameters and no JSON columns.
A database in memory has one connection only: its reads go through the engine.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import Select, event, func
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .engine import reading_each_statement

READ_CONNECTIONS = 16  # PostgreSQL connections per process for these reads, by default
_LOCK_ERRORS = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# the connection itself is gone: 503, and every pooled connection is replaced
_CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    # a connection whose server ended it while idle: asyncpg's protocol state is confused
    asyncpg.exceptions.InternalClientError,
)
_ATTRIBUTE = "_greennet_fast_reads"

type Processor = Callable[[Any], Any] | None


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...]  # bind parameters in positional order
    defaults: Mapping[str, Any]  # values bound in the statement itself
    binds: tuple[Processor, ...]
    # per column, as SQLAlchemy's result would convert it (on PostgreSQL it depends on the
    # type the server describes: known after the first run)
    results: tuple[Processor, ...] | None
    row: Callable[[Iterable[Any]], Any]  # a named tuple of the columns
    # PostgreSQL: the statement for several argument lists at once (`_batched_sql`, known
    # with `results`); None where it cannot be made
    batched: str | None = None


class ReadQuery:
    """A SELECT for `FastReads` (and, inside a transaction, for a SQLAlchemy connection)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        """The statement as `dialect`'s driver takes it (compiled once per dialect)."""
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found

    def described(
        self, dialect: Dialect, type_codes: Sequence[Any], parameter_types: Sequence[str]
    ) -> _Compiled:
        """Set the result processors from the driver's column type codes, and the batched
        form from its parameter types (PostgreSQL)."""
        columns = self.statement.selected_columns
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, code)
            for column, code in zip(columns, type_codes, strict=True)
        )
        compiled = self.compiled(dialect)
        numbered = _numbered(self.statement, dialect, compiled.names)
        batched = _batched_sql(numbered, parameter_types) if numbered is not None else None
        found = self._compiled[dialect.name] = compiled._replace(results=results, batched=batched)
        return found


_PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")


def _numbered(statement: Select[Any], dialect: Dialect, names: tuple[str, ...]) -> str | None:
    """`statement` with one more column: each row's number in the statement's own order
    (None for a DISTINCT statement: the number would make every row distinct)."""
    if statement._distinct:  # SQLAlchemy private, as below: neither has a public getter
        return None
    order = list(statement._order_by_clauses)
    numbered = statement.add_columns(func.row_number().over(order_by=order).label("row_number"))
    compiled = numbered.compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != names:  # the order's own parameters moved them
        return None
    return compiled.string


def _batched_sql(numbered: str, parameter_types: Sequence[str]) -> str | None:
    """The `numbered` statement run once per argument list of a batch, in one statement: the
    lists arrive as one array per parameter; each row comes back with its list's number
    (from 1) first and its number within that list's answer last.

    None for a statement without parameters or with text literals (a `$1` inside one must
    not be rewritten).
    """
    if not parameter_types or "'" in numbered:
        return None
    names = ", ".join(f"p{n}" for n in range(1, len(parameter_types) + 1))
    arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(parameter_types, 1))
    each = _PLACEHOLDER.sub(r"k.p\1", numbered)
    # built from SQLAlchemy's compiled statement and the server's own type names: no input
    return (
        f"SELECT k.n, q.* FROM unnest({arrays}) WITH ORDINALITY AS k({names}, n)"  # noqa: S608
        f" CROSS JOIN LATERAL ({each}) AS q"
    )


def _compile(statement: Select[Any], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = []
    defaults: dict[str, Any] = {}
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            raise ValueError(f"fast reads take no expanding parameters ({name})")
        if not bind.required:
            defaults[name] = bind.effective_value
        binds.append(bind.type.dialect_impl(dialect).bind_processor(dialect))
    columns = list(statement.selected_columns)
    results = None
    if dialect.name == "sqlite":  # (sqlite3 describes no types)
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        )
    row_class: Any = collections.namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
    row = row_class._make
    return _Compiled(compiled.string, names, defaults, tuple(binds), results, row)


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    values = []
    for name, process in zip(compiled.names, compiled.binds, strict=True):
        value = params[name] if name in params else compiled.defaults[name]
        values.append(process(value) if process is not None else value)
    return values


def _rows(compiled: _Compiled, raw: Sequence[Sequence[Any]]) -> list[Any]:
    make, processors = compiled.row, compiled.results
    assert processors is not None
    if not any(processors):
        return [make(values) for values in raw]
    return [
        make([p(v) if p is not None else v for p, v in zip(processors, values, strict=True)])
        for values in raw
    ]


class FastReads:
    """This process's driver-level reader for one engine (see the module doc)."""

    def __init__(
        self, engine: AsyncEngine, pool_timeout: float = 10.0, connections: int | None = None
    ) -> None:
        self.engine = engine
        self._dialect = engine.dialect
        url = engine.url
        self._sqlite_path: str | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._pg: _Connections | None = None
        if url.drivername.startswith("sqlite"):
            if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
                self._sqlite_path = url.database
        else:
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._pg = _Connections(dsn, connections or READ_CONNECTIONS, pool_timeout)
        # PostgreSQL: per statement, the requests of this turn of the loop waiting to be
        # sent together (`_postgresql`), and the batches under way
        self._batches: dict[ReadQuery, list[_Waiting]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def all(self, query: ReadQuery, params: Mapping[str, Any]) -> list[Any]:
        """Every row of `query` with `params`."""
        compiled = query.compiled(self._dialect)
        arguments = _arguments(compiled, params)
        if self._pg is not None:
            return await self._postgresql(query, compiled, arguments)
        if self._sqlite_path is not None:
            try:
                return _rows(
                    compiled, self._sqlite_connection().execute(compiled.sql, arguments).fetchall()
                )
            except sqlite3.OperationalError as err:
                if err.sqlite_errorcode not in _LOCK_ERRORS:
                    raise OperationalError(compiled.sql, arguments, err) from err
        # through the engine: on the connection's thread, waiting for the lock there
        async with reading_each_statement(self.engine).connect() as conn:
            return list(await conn.execute(query.statement, dict(params)))

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            assert self._sqlite_path is not None
            conn = sqlite3.connect(
                self._sqlite_path, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA query_only=ON")
            self._sqlite = conn
        return self._sqlite

    async def _postgresql(
        self, query: ReadQuery, compiled: _Compiled, arguments: list[Any]
    ) -> list[Any]:
        """Requests that reach the same statement in one turn of the event loop share one
        round trip: the first waits for the turn to end, then sends every argument list in
        one statement (`_batched_sql`). Each request still sees what was committed when
        it arrived, or later: nothing is sent before the last of them arrived."""
        if compiled.batched is None:  # not described yet, or not batchable
            return await self._postgresql_one(query, compiled, arguments)
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        waiting = self._batches.get(query)
        if waiting is not None:
            waiting.append(_Waiting(arguments, answer))
            return await answer
        waiting = self._batches[query] = [_Waiting(arguments, answer)]
        try:
            await asyncio.sleep(0)  # this turn's other requests for the statement join
        except asyncio.CancelledError:
            del self._batches[query]
            if len(waiting) > 1:
                self._start_batch(query, compiled, waiting[1:])
            raise
        del self._batches[query]
        if len(waiting) == 1:
            return await self._postgresql_one(query, compiled, arguments)
        self._start_batch(query, compiled, waiting)
        return await answer

    async def _postgresql_one(
        self, query: ReadQuery, compiled: _Compiled, arguments: list[Any]
    ) -> list[Any]:
        sql = compiled.sql
        assert self._pg is not None
        async with _Statement(self._pg, sql, arguments) as conn:
            if compiled.results is None:
                statement = await conn.prepare(sql)
                types = [attribute.type.oid for attribute in statement.get_attributes()]
                parameters = [
                    f'"{kind.schema}"."{kind.name}"' for kind in statement.get_parameters()
                ]
                compiled = query.described(self._dialect, types, parameters)
                raw = await statement.fetch(*arguments)
            else:
                raw = await conn.fetch(sql, *arguments)
        return _rows(compiled, raw)

    def _start_batch(self, query: ReadQuery, compiled: _Compiled, waiting: list[_Waiting]) -> None:
        # a task of its own: a request cancelled meanwhile must not cancel the others' read
        batch = self._postgresql_batch(query, compiled, waiting)
        task = asyncio.get_running_loop().create_task(batch)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _postgresql_batch(
        self, query: ReadQuery, compiled: _Compiled, waiting: list[_Waiting]
    ) -> None:
        sql = compiled.batched
        assert sql is not None
        arguments = [list(column) for column in zip(*(w.arguments for w in waiting), strict=True)]
        assert self._pg is not None
        try:
            async with _Statement(self._pg, sql, arguments) as conn:
                raw = await conn.fetch(sql, *arguments)
        except asyncio.CancelledError:  # the app is stopping
            for each in waiting:
                each.answer.cancel()
            raise
        except Exception as err:
            if isinstance(err, DBAPIError) and not isinstance(err, InterfaceError):
                # the database refused the statement, perhaps for one request's arguments
                # alone: each on its own, so that only that request fails
                await self._one_by_one(query, compiled, waiting)
                return
            # a lost connection, no connection within the pool timeout: every read fails
            for each in waiting:
                if not each.answer.done():
                    each.answer.set_exception(err)
            return
        answers: list[list[Any]] = [[] for _ in waiting]
        for record in raw:  # (number of the argument list, the row's columns, row number)
            answers[record[0] - 1].append(record)
        for each, records in zip(waiting, answers, strict=True):
            if not each.answer.done():
                records.sort(key=_ROW_NUMBER)
                each.answer.set_result(_rows(compiled, [record[1:-1] for record in records]))

    async def _one_by_one(
        self, query: ReadQuery, compiled: _Compiled, waiting: list[_Waiting]
    ) -> None:
        for each in waiting:
            if each.answer.done():
                continue
            try:
                rows = await self._postgresql_one(query, compiled, each.arguments)
            except Exception as failed:
                each.answer.set_exception(failed)
            else:
                each.answer.set_result(rows)

    async def close(self) -> None:
        """Close this reader's connections (it opens new ones if used again)."""
        if self._pg is not None:
            await self._pg.close()
        self.terminate()

    def terminate(self) -> None:
        """Close at once, without waiting (the engine was disposed)."""
        if self._pg is not None:
            self._pg.terminate()
        sqlite, self._sqlite = self._sqlite, None
        if sqlite is not None:
            sqlite.close()


class _Waiting(NamedTuple):
    """A request waiting for its share of a batch."""

    arguments: list[Any]
    answer: asyncio.Future[list[Any]]


_ROW_NUMBER = operator.itemgetter(-1)


class _Statement:
    """A pooled connection for one statement, given back after it. Its failures are raised
    as SQLAlchemy raises them: a lost connection (503, and every pooled connection replaced)
    or a database error. (A class, not `asynccontextmanager`: cheaper per read.)"""

    __slots__ = ("_arguments", "_conn", "_connections", "_sql")

    def __init__(self, connections: _Connections, sql: str, arguments: list[Any]) -> None:
        self._connections = connections
        self._sql = sql
        self._arguments = arguments

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._connections.take()
        return self._conn

    async def __aexit__(self, kind: object, err: BaseException | None, trace: object) -> None:
        failure: Exception | None = None
        if isinstance(err, _CONNECTION_LOST):
            self._conn.terminate()
            self._connections.expire()
            failure = InterfaceError(self._sql, self._arguments, err, connection_invalidated=True)
        elif isinstance(err, asyncpg.PostgresError):
            failure = DBAPIError(self._sql, self._arguments, err)
        self._connections.give(self._conn)
        if failure is not None:
            raise failure from err


class _Connections:
    """Up to `size` asyncpg connections, handed out in arrival order.

    asyncpg's own pool cost about 90 µs of CPU per acquire and release here (more than the
    query), and its queue lets a newcomer overtake a woken waiter; this hands a returned
    connection straight to the longest waiter.
    """

    def __init__(self, dsn: str, size: int, timeout: float) -> None:
        self._dsn = dsn
        self._size = size
        self._timeout = timeout
        self._idle: collections.deque[asyncpg.Connection] = collections.deque()
        # a waiter gets a connection, or None: open one yourself (a closed one was returned)
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._opened = 0  # connections open or being opened

    async def take(self) -> asyncpg.Connection:
        """An idle connection, a new one, or the next one returned (FIFO)."""
        while self._idle:
            conn = self._idle.popleft()
            if not conn.is_closed():
                return conn
            self._opened -= 1
        if self._opened >= self._size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(self._timeout):
                    given = await waiter
            except TimeoutError:
                raise PoolTimeout("no connection for a read within the pool timeout") from None
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_back(waiter.result())
                raise
            if given is not None:
                return given
        else:
            self._opened += 1
        try:
            return await asyncpg.connect(self._dsn)
        except BaseException as err:
            self._hand_back(None)
            if isinstance(err, _CONNECTION_LOST):
                raise OperationalError("connect", None, err) from err
            raise

    def give(self, conn: asyncpg.Connection) -> None:
        """Return a connection taken with `take`."""
        self._hand_back(None if conn.is_closed() else conn)

    def _hand_back(self, conn: asyncpg.Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)  # None: that waiter opens a connection in its place
                return
        if conn is None:
            self._opened -= 1
        else:
            self._idle.append(conn)

    def expire(self) -> None:
        """Close every idle connection: after one was found dead, the others likely are."""
        while self._idle:
            self._idle.popleft().terminate()
            self._opened -= 1

    async def close(self) -> None:
        """Close the idle connections gracefully."""
        while self._idle:
            conn = self._idle.popleft()
            self._opened -= 1
            with contextlib.suppress(*_CONNECTION_LOST, asyncpg.PostgresError):
                await conn.close(timeout=2)

    def terminate(self) -> None:
        """Close the idle connections at once."""
        self.expire()


def fast_reads(engine: AsyncEngine, connections: int | None = None) -> FastReads:
    """The engine's `FastReads` (made on first use, closed with the engine); `connections`
    sizes its PostgreSQL pool when this call makes it (the app's first call does)."""
    reads: FastReads | None = getattr(engine.sync_engine, _ATTRIBUTE, None)
    if reads is None:
        reads = FastReads(engine, connections=connections)
        setattr(engine.sync_engine, _ATTRIBUTE, reads)
        event.listen(engine.sync_engine, "engine_disposed", lambda _engine: reads.terminate())
    return reads


async def close_fast_reads(engine: AsyncEngine) -> None:
    """Close the engine's `FastReads`, if it made one (before disposing of the engine)."""
    reads: FastReads | None = getattr(engine.sync_engine, _ATTRIBUTE, None)
    if reads is not None:
        await reads.close()


type Reader = AsyncConnection | FastReads


async def read_all(db: Reader, query: ReadQuery, params: Mapping[str, Any]) -> Sequence[Any]:
    """`query`'s rows through `FastReads`, or on a SQLAlchemy connection (in a transaction)."""
    if isinstance(db, FastReads):
        return await db.all(query, params)
    rows: Sequence[Any] = (await db.execute(query.statement, dict(params))).all()
    return rows


async def read_first(db: Reader, query: ReadQuery, params: Mapping[str, Any]) -> Any | None:
    """The first row of `query`, as `read_all` reads it, or None."""
    found = await read_all(db, query, params)
    return found[0] if found else None
