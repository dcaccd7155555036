"""`one_of`: `column IN (values)` with the values as one parameter, on both databases."""

from __future__ import annotations

from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.sets import one_of
from sqlalchemy import Column, MetaData, String, Table, insert, select

_metadata = MetaData()
names = Table("one_of_names", _metadata, Column("name", String(64), primary_key=True))
STORED = ["greennet-0a0b0c", "it's", 'say "hi"', "ünïcode ☃", "a,b", "[x]", "%", "_", ""]


async def test_one_of_selects_exactly_the_listed_values(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_metadata.create_all)
            await conn.execute(insert(names), [{"name": name} for name in STORED])
        async with engine.connect() as conn:

            async def chosen(values: list[str]) -> list[str]:
                rows = await conn.execute(
                    select(names.c.name).where(one_of(conn, names.c.name, values))
                )
                return sorted(row.name for row in rows)

            for wanted in (STORED, STORED[1:4], ["%"], [""], ["_", "_", "[x]"]):
                assert await chosen(wanted) == sorted(set(wanted)), wanted
            assert await chosen([]) == []
            assert await chosen(["absent", "greennet-0A0B0C", "greennet-0a0b0"]) == []
            # one compiled statement serves any number of values (no per-value placeholders)
            statement = select(names.c.name).where(one_of(conn, names.c.name, STORED))
            sql = str(statement.compile(dialect=conn.dialect))
            assert sql.count("?") + sql.count("$") == 1, sql
    finally:
        await engine.dispose()
