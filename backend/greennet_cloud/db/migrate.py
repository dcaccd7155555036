"""Schema migrations with Alembic, run from the service (startup or `greennet-cloud migrate`).

Revisions live in `db/alembic/versions/`. `migrate()` applies the pending ones in one
transaction. It is safe to run from several processes at once: PostgreSQL serializes on an
advisory lock, SQLite on its write lock (every writing transaction begins IMMEDIATE). A
database made by the hand-written runner this project used before Alembic (a
`schema_version` table) is adopted: its version 1 is revision 0001.
"""

from __future__ import annotations

import logging
import re
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..security.keyring import Keyring

_LOGGER = logging.getLogger(__name__)
_LOCK_ID = 0x6772_6E65_7400  # "grnet": any constant shared by all GreenNet processes
# the pre-Alembic runner's versions, as the revisions that replaced them
_LEGACY_REVISIONS = {1: "0001"}


# PostgreSQL partitions of `telemetry` are made at run time, not by migrations
_PARTITION = re.compile(r"^telemetry_p\d{8}$")


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Whether Alembic should compare this object: not the run-time telemetry partitions."""
    return not (type_ == "table" and name is not None and _PARTITION.fullmatch(name))


def schema_differences(conn: Connection) -> list[Any]:
    """What differs between the database and `schema.py` (empty when they agree)."""
    from .schema import metadata

    context = MigrationContext.configure(conn, opts={"include_name": include_name})
    return list(compare_metadata(context, metadata))


def alembic_config() -> AlembicConfig:
    """Alembic's configuration for the revisions shipped in this package."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("greennet_cloud.db") / "alembic"))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


LATEST_REVISION = _script().get_current_head()


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at (None on an empty database)."""
    return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def migrate(engine: AsyncEngine, keyring: Keyring | None = None) -> list[str]:
    """Apply every pending revision; return the revisions applied (empty when up to date).

    `keyring` is for revisions that encrypt existing data (0002 seals TOTP secrets): one
    that finds such data without it stops with an error rather than leave it in the clear.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        return await conn.run_sync(_upgrade, keyring)


def _upgrade(conn: Connection, keyring: Keyring | None) -> list[str]:
    config = alembic_config()
    config.attributes["connection"] = conn
    config.attributes["keyring"] = keyring
    script = ScriptDirectory.from_config(config)
    _adopt_legacy_version_table(conn, config)
    current = MigrationContext.configure(conn).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    if current is not None and current not in known:
        raise RuntimeError(
            f"database schema {current} is newer than this GreenNet Cloud ({LATEST_REVISION})"
        )
    pending = [
        revision
        for revision in reversed(list(script.iterate_revisions("heads", current or "base")))
        if revision.revision != current
    ]
    for revision in pending:
        _LOGGER.info("applying migration %s %s", revision.revision, revision.doc)
    command.upgrade(config, "heads")
    return [revision.revision for revision in pending]


def _adopt_legacy_version_table(conn: Connection, config: AlembicConfig) -> None:
    if not inspect(conn).has_table("schema_version"):
        return
    version = conn.execute(text("SELECT max(version) FROM schema_version")).scalar_one()
    if version not in _LEGACY_REVISIONS:
        raise RuntimeError(f"database schema {version} is newer than this GreenNet Cloud")
    _LOGGER.info(
        "adopting schema version %s as Alembic revision %s", version, _LEGACY_REVISIONS[version]
    )
    command.stamp(config, _LEGACY_REVISIONS[version])
    conn.execute(text("DROP TABLE schema_version"))
