"""Alembic environment: runs on the connection `greennet_cloud.db.migrate` hands over.

`migrate()` opens the transaction (and on PostgreSQL takes the advisory lock), then calls
Alembic with that connection in `config.attributes["connection"]`. From the `alembic`
command line (developers writing a revision, see docs/backend.md) there is none: this file
then connects to `GREENNET_DATABASE_URL` itself.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.migrate import include_name
from greennet_cloud.db.schema import metadata
from sqlalchemy.engine import Connection


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: autogenerate writes batch operations (copy-and-move)
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_command_line() -> None:
    url = os.environ.get("GREENNET_DATABASE_URL")
    if not url:
        raise SystemExit("set GREENNET_DATABASE_URL to the database to compare against")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
if (given := context.config.attributes.get("connection")) is not None:
    _run(given)
else:
    asyncio.run(_run_from_command_line())
