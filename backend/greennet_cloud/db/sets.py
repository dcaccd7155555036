"""`column IN (values)` with the values as one bound parameter, for hot statements that
name many ids at once (an ingest batch's devices and their thresholds).

SQLAlchemy's `in_(values)` becomes one placeholder per value each time the statement runs
(an "expanding" parameter), every one rendered and, on PostgreSQL, type-cast: for the 200
plug ids of one hub batch that was a tenth of the ingest process's time (bench/RESULTS.md).
Here the list travels as one parameter, so the statement compiles once like any other:
PostgreSQL `= ANY($1::VARCHAR[])`, SQLite `IN (SELECT value FROM json_each(?))` (SQLite's
own JSON functions, built in since 3.38).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection


def one_of(
    conn: AsyncConnection, column: ColumnElement[str], values: Iterable[str]
) -> ColumnElement[bool]:
    """`column` is one of `values` (strings), for a statement run on `conn`."""
    wanted = sorted(set(values))
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, wanted, type_=ARRAY(String)))
    listed = func.json_each(bindparam(None, orjson.dumps(wanted).decode(), type_=String))
    return column.in_(select(literal_column("value")).select_from(listed))
