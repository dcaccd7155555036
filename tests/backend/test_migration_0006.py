"""Revision 0006 (issue #14) on a database with data from 0001 (carried through the
revisions before it): every existing row keeps working, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from greennet_cloud.db import migrate as migrations
from greennet_cloud.db.engine import create_engine
from greennet_cloud.security.keyring import Keyring
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import TEST_SECRET

initial = importlib.import_module("greennet_cloud.db.alembic.versions.0001_initial")
CREATED = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def engine_at_0001(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database at revision 0001 holding a user (plain TOTP secret), a session and a
    device credential, as a GreenNet Cloud before #14 left it."""
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(initial.metadata.create_all)
        await conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        await conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
        await conn.execute(
            initial.users.insert().values(
                id="u1", email="old@example.com", password_hash="x", role="user",
                display_name="old", disabled=False, totp_secret="JBSWY3DPEHPK3PXP",
                totp_enabled=True, totp_last_step=None, created_at=CREATED, updated_at=CREATED,
            )
        )  # fmt: skip
        await conn.execute(
            initial.sessions.insert().values(
                id="s1", user_id="u1", created_at=CREATED,
                expires_at=CREATED + timedelta(days=30),
            )
        )  # fmt: skip
        await conn.execute(
            initial.homes.insert().values(id="h1", owner_id="u1", name="Home", created_at=CREATED)
        )
        await conn.execute(
            initial.devices.insert().values(
                id="greennet-abcdef", home_id="h1", name="Plug", model="", location="",
                created_at=CREATED,
            )
        )  # fmt: skip
        await conn.execute(
            initial.device_credentials.insert().values(
                id="c1", device_id="greennet-abcdef", nonce="n" * 32, created_at=CREATED
            )
        )
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_existing_rows_are_carried_into_0006(engine_at_0001: AsyncEngine) -> None:
    keyring = Keyring.from_root_secret(TEST_SECRET)
    applied = await migrations.migrate(engine_at_0001, keyring)
    assert "0006" in applied  # later revisions may follow it
    async with engine_at_0001.connect() as conn:
        session = (await conn.execute(text("SELECT created_at, last_used_at FROM sessions"))).one()
        assert session.last_used_at == session.created_at  # counts as used when it began
        key_id = (await conn.execute(text("SELECT key_id FROM device_credentials"))).scalar()
        assert key_id == "root"  # derived with the single signing secret, as before
        sealed = (await conn.execute(text("SELECT totp_secret FROM users"))).scalar()
        assert "JBSWY3DPEHPK3PXP" not in sealed  # no longer in the clear
        assert sealed.startswith("root:")
        assert keyring.open_totp_secret(sealed) == "JBSWY3DPEHPK3PXP"
        tables = {
            row[0]
            for row in await conn.execute(
                select(text("1"))
                .select_from(text("recovery_codes"))
                .union_all(select(text("2")).select_from(text("invitations")))
            )
        }
    assert tables == set()  # both new tables exist and start empty


async def test_0006_refuses_to_leave_totp_secrets_in_the_clear(engine_at_0001: AsyncEngine) -> None:
    with pytest.raises(RuntimeError, match="run it with the keyring"):
        await migrations.migrate(engine_at_0001)
    async with engine_at_0001.connect() as conn:  # rolled back whole: still at 0001
        assert await migrations.current_revision(conn) == "0001"
        assert await conn.scalar(text("SELECT totp_secret FROM users")) == "JBSWY3DPEHPK3PXP"
