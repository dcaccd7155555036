"""A small migration runner: a `schema_version` table and ordered, transactional upgrades.

Safe to run from several processes at once: PostgreSQL serializes on an advisory lock,
SQLite on its write lock (every transaction begins IMMEDIATE).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .migrations import MIGRATIONS
from .types import UtcDateTime

_LOGGER = logging.getLogger(__name__)
_LOCK_ID = 0x6772_6E65_7400  # "grnet": any constant shared by all GreenNet processes

_version_metadata = MetaData()
schema_version = Table(
    "schema_version",
    _version_metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

LATEST_VERSION = MIGRATIONS[-1].VERSION


async def current_version(conn: AsyncConnection) -> int:
    """The highest applied migration (0 on an empty database)."""
    exists = await conn.run_sync(lambda sync: sync.dialect.has_table(sync, "schema_version"))
    if not exists:
        return 0
    rows = await conn.execute(select(schema_version.c.version))
    return max((row.version for row in rows), default=0)


async def migrate(engine: AsyncEngine) -> list[int]:
    """Apply every pending migration; return the versions applied (empty when up to date)."""
    applied: list[int] = []
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        await conn.run_sync(_version_metadata.create_all)
        version = await current_version(conn)
        if version > LATEST_VERSION:
            raise RuntimeError(
                f"database schema {version} is newer than this GreenNet Cloud ({LATEST_VERSION})"
            )
        for migration in MIGRATIONS:
            if version >= migration.VERSION:
                continue
            _LOGGER.info("applying migration %04d %s", migration.VERSION, migration.NAME)
            await migration.upgrade(conn)
            await conn.execute(
                schema_version.insert().values(
                    version=migration.VERSION, name=migration.NAME, applied_at=datetime.now(UTC)
                )
            )
            applied.append(migration.VERSION)
    return applied
