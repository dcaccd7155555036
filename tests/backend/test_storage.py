"""Storage on SQLite and PostgreSQL: migrations, schema agreement, scoping, time handling."""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from greennet_cloud.db import migrate as migrations
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.schema import metadata
from greennet_cloud.models import Access, Role
from greennet_cloud.security.keyring import Keyring
from greennet_cloud.security.tokens import ingest_secret
from greennet_cloud.storage import devices as device_store
from greennet_cloud.storage import homes as home_store
from greennet_cloud.storage import throttle as throttle_store
from greennet_cloud.storage import users as user_store
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

initial = importlib.import_module("greennet_cloud.db.alembic.versions.0001_initial")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _columns(sync_conn: object) -> dict[str, set[str]]:
    inspector = inspect(sync_conn)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
    }


async def test_migrations_build_exactly_the_current_schema(engine: AsyncEngine) -> None:
    applied = await migrations.migrate(engine)
    assert applied[0] == "0001"
    assert applied[-1] == migrations.LATEST_REVISION
    async with engine.connect() as conn:
        actual = await conn.run_sync(_columns)
        # Alembic's own comparison also sees types, nullability, indexes and constraints
        differences = await conn.run_sync(migrations.schema_differences)
    expected = {name: {c.name for c in table.columns} for name, table in metadata.tables.items()}
    expected["alembic_version"] = {"version_num"}
    assert actual == expected
    assert differences == []


async def test_migrating_again_is_a_no_op(engine: AsyncEngine) -> None:
    await migrations.migrate(engine)
    assert await migrations.migrate(engine) == []
    async with engine.connect() as conn:
        assert await migrations.current_revision(conn) == migrations.LATEST_REVISION


async def test_concurrent_migrations_apply_once(engine: AsyncEngine, database_url: str) -> None:
    """Several processes starting together must not race (advisory lock / write lock)."""
    others = [create_engine(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrations.migrate(e) for e in [engine, *others]))
    finally:
        for other in others:
            await other.dispose()
    applied = [result for result in results if result]
    assert results.count([]) == 3
    assert len(applied) == 1
    assert applied[0][-1] == migrations.LATEST_REVISION


async def test_a_newer_database_is_refused(engine: AsyncEngine) -> None:
    await migrations.migrate(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(RuntimeError, match="newer"):
        await migrations.migrate(engine)


async def test_a_database_from_the_hand_written_runner_is_adopted(engine: AsyncEngine) -> None:
    """Version 1 of the runner used before Alembic is revision 0001: data kept, nothing re-run."""
    async with engine.begin() as conn:
        await conn.run_sync(initial.metadata.create_all)
        await conn.execute(
            text(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                " name VARCHAR(100) NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        )
        await conn.execute(
            text("INSERT INTO schema_version VALUES (1, 'initial', CURRENT_TIMESTAMP)")
        )
        await user_store.insert_user(
            conn,
            user_id="kept",
            email="kept@example.com",
            password_hash="x",
            role=Role.USER,
            display_name="kept",
            now=datetime.now(UTC),
        )
    applied = await migrations.migrate(engine)
    assert "0001" not in applied
    async with engine.connect() as conn:
        assert await migrations.current_revision(conn) == migrations.LATEST_REVISION
        assert await user_store.get_user(conn, "kept") is not None
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "schema_version" not in tables


async def test_a_newer_hand_written_version_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO schema_version VALUES (2)"))
    with pytest.raises(RuntimeError, match="newer"):
        await migrations.migrate(engine)


async def test_times_come_back_aware_and_ordered(engine: AsyncEngine) -> None:
    await migrations.migrate(engine)
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        await user_store.insert_user(
            conn,
            user_id="u1",
            email="t@example.com",
            password_hash="x",
            role=Role.USER,
            display_name="t",
            now=base.astimezone(datetime.now().astimezone().tzinfo),
        )
        user = await user_store.get_user(conn, "u1")
        assert user is not None
        assert user.created_at == base
        assert user.created_at.tzinfo is not None
        for offset in (0, 10, 20):
            await throttle_store.record_attempt(conn, "k", base + timedelta(seconds=offset))
        found = await throttle_store.recent_attempts(conn, "k", base + timedelta(seconds=5))
        assert found == (2, base + timedelta(seconds=10), base + timedelta(seconds=20))


async def test_writes_are_scoped_to_the_owner(engine: AsyncEngine) -> None:
    await migrations.migrate(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for user_id in ("alice", "bob"):
            await user_store.insert_user(
                conn,
                user_id=user_id,
                email=f"{user_id}@example.com",
                password_hash="x",
                role=Role.USER,
                display_name=user_id,
                now=now,
            )
        await home_store.insert_home(conn, owner_id="alice", home_id="h1", name="A", now=now)
        assert await home_store.get_home(conn, "bob", "h1") is None
        assert await home_store.rename_home(conn, "bob", "h1", "Mine now") is False
        assert await home_store.delete_home(conn, "bob", "h1") is False
        found = await home_store.get_home(conn, "alice", "h1")
        assert found is not None
        assert found[0].name == "A"


async def test_deleting_a_user_cascades(engine: AsyncEngine) -> None:
    await migrations.migrate(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await user_store.insert_user(
            conn,
            user_id="gone",
            email="gone@example.com",
            password_hash="x",
            role=Role.USER,
            display_name="g",
            now=now,
        )
        await home_store.insert_home(conn, owner_id="gone", home_id="h", name="H", now=now)
        assert await user_store.delete_user(conn, "gone")
        remaining = (await conn.execute(text("SELECT count(*) FROM homes"))).scalar_one()
    assert remaining == 0


async def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert (mode, keys) == ("wal", 1)


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        create_engine("mysql://localhost/db")


async def test_devices_of_part_one_keep_working_after_the_identity_migration(
    engine: AsyncEngine,
) -> None:
    """Revision 0002 gives devices a UUID: credentials and shares follow, and the ingest
    secret a plug was given before still verifies (it is derived from plug id + nonce)."""

    def to_0001(sync: object) -> None:
        config = migrations.alembic_config()
        config.attributes["connection"] = sync
        command.upgrade(config, "0001")

    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.run_sync(to_0001)
        for user_id in ("owner", "friend"):
            await user_store.insert_user(
                conn, user_id=user_id, email=f"{user_id}@example.com", password_hash="x",
                role=Role.USER, display_name=user_id, now=now,
            )  # fmt: skip
        await conn.execute(
            text("INSERT INTO homes VALUES ('h1', 'owner', 'Flat', :now)"), {"now": now}
        )
        await conn.execute(
            text(
                "INSERT INTO devices VALUES ('greennet-0a0b0c', 'h1', 'Fridge', 'GN-1', 'Kitchen',"
                " :now, NULL)"
            ),
            {"now": now},
        )
        await conn.execute(
            text("INSERT INTO device_credentials VALUES ('c1', 'greennet-0a0b0c', 'n0nce', :now,"
                 " NULL)"), {"now": now},
        )  # fmt: skip
        await conn.execute(
            text("INSERT INTO shares VALUES ('s1', 'friend', NULL, 'greennet-0a0b0c', 'read',"
                 " :now)"), {"now": now},
        )  # fmt: skip
    # the single signing secret's device-ingest key, as the keyring derives it (id "root")
    root = Keyring.from_root_secret("server-secret").device_ingest.current
    secret_before = ingest_secret(root.material, "greennet-0a0b0c", "n0nce")

    applied = await migrations.migrate(engine)
    assert applied[0] == "0002"
    async with engine.connect() as conn:
        device = await device_store.find_in_home(conn, "h1", "greennet-0a0b0c")
        assert device is not None
        assert re.fullmatch(r"[0-9a-f-]{36}", device.id)
        assert (device.name, device.model, device.location) == ("Fridge", "GN-1", "Kitchen")
        [credential] = await device_store.list_credentials(conn, device.id)
        assert credential.id == "c1"
        assert credential.key_id == "root"
        assert ingest_secret(root.material, device.plug_id, credential.nonce) == secret_before
        seen = await device_store.get_device(conn, "friend", device.id)
        assert seen is not None
        assert seen[1] is Access.READ
