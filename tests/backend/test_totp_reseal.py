"""`greennet-cloud reseal-totp`: after `rotate-key totp_secret`, existing TOTP secrets move to
the new key, so the old one can be retired; retiring it before that is refused (it would lock
every two-factor account out)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyotp
from greennet_cloud.db.engine import create_engine
from greennet_cloud.db.migrate import migrate
from greennet_cloud.db.schema import users
from greennet_cloud.security.keyring import Keyring
from greennet_cloud.services.totp_keys import reseal_totp_secrets
from greennet_cloud.storage import totp_keys as totp_key_store
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .api import Api
from .conftest import ApiFactory, FakeClock
from .test_cli import run_cli
from .test_keyring import ROOT, keyring_file


async def enroll(api: Api, email: str, clock: FakeClock, *, confirm: bool) -> str:
    """An account with a TOTP secret (confirmed, or pending); the secret."""
    user = await api.account(email)
    enrolled = await api.call(
        "POST", "/api/v1/auth/totp", token=user.access,
        json_body={"current_password": user.password},
    )  # fmt: skip
    assert enrolled.status == 201, enrolled.body
    secret: str = enrolled.body["secret"]
    if confirm:
        confirmed = await api.call(
            "POST", "/api/v1/auth/totp/confirm", token=user.access,
            json_body={"code": pyotp.TOTP(secret).at(clock.now), "current_password": user.password},
        )  # fmt: skip
        assert confirmed.status == 200, confirmed.body
    return secret


async def sealed_key_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL ORDER BY email")
        )
        return [value.partition(":")[0] for (value,) in rows]


def app_engine(api: Api) -> AsyncEngine:
    assert api.client.app is not None
    return api.client.app[ENGINE]


async def test_reseal_moves_secrets_to_the_current_key_and_then_the_old_key_retires(
    make_api: ApiFactory, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    before = await make_api(keyring_file=keyring_file(tmp_path, ROOT, "before"))
    secret = await enroll(before, "a-two-factor@example.com", clock, confirm=True)
    await enroll(before, "b-pending@example.com", clock, confirm=False)
    engine = app_engine(before)
    assert await sealed_key_ids(engine) == ["root", "root"]

    ring = keyring_file(tmp_path, ROOT.rotated("totp_secret", "totp_2"), "ring")
    env = {"GREENNET_DATABASE_URL": database_url, "GREENNET_KEYRING_FILE": str(ring)}
    refused = run_cli("rotate-key", "totp_secret", "--retire", "root", cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert "2 account(s) have TOTP secrets sealed with 'root'" in refused.stderr
    assert "reseal-totp" in refused.stderr
    assert Keyring.from_json(ring.read_text()).totp_secret.get("root") is not None  # unchanged

    resealed = run_cli("reseal-totp", cwd=tmp_path, env=env)
    assert resealed.returncode == 0, resealed.stderr
    assert "re-sealed 2 TOTP secret(s) with key totp_2" in resealed.stdout
    assert await sealed_key_ids(engine) == ["totp_2", "totp_2"]
    again = run_cli("reseal-totp", cwd=tmp_path, env=env)
    assert "re-sealed 0 TOTP secret(s)" in again.stdout  # nothing left to move

    retired = run_cli("rotate-key", "totp_secret", "--retire", "root", cwd=tmp_path, env=env)
    assert retired.returncode == 0, retired.stderr
    ring_now = Keyring.from_json(ring.read_text())
    assert [key.id for key in ring_now.totp_secret.keys] == ["totp_2"]

    after = await make_api(keyring_file=ring)
    clock.advance(30)
    login = await after.login("a-two-factor@example.com", totp=pyotp.TOTP(secret).at(clock.now))
    assert login.status == 200, login.body


async def test_a_secret_changed_while_resealing_is_left_as_it_is_now(
    api: Api, clock: FakeClock
) -> None:
    await enroll(api, "racing@example.com", clock, confirm=False)
    engine = app_engine(api)
    async with engine.begin() as conn:
        [(user_id, sealed)] = await totp_key_store.sealed_secrets_not_with(conn, "other", "", 10)
        # an enrolment in between replaced the secret the re-seal read
        assert await totp_key_store.replace_sealed_secret(conn, user_id, sealed, "new", clock())
        stale = await totp_key_store.replace_sealed_secret(conn, user_id, sealed, "x", clock())
    assert stale is False
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT totp_secret FROM users"))).scalar_one()
    assert stored == "new"


async def test_secrets_no_key_opens_are_counted_not_lost(
    database_url: str, clock: FakeClock
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, ROOT)
        gone = ROOT.rotated("totp_secret", "gone")
        sealed_gone = gone.seal_totp_secret(pyotp.random_base32())
        sealed_root = ROOT.seal_totp_secret(pyotp.random_base32())
        await insert_two_factor_account(engine, "u0", sealed_gone, clock)
        await insert_two_factor_account(engine, "u1", sealed_root, clock)
        newer = ROOT.rotated("totp_secret", "t3")  # has root and t3, not "gone"
        outcome = await reseal_totp_secrets(engine, newer, clock)
        assert (outcome.resealed, outcome.unopenable) == (1, 1)
        async with engine.connect() as conn:
            rows = dict((await conn.execute(text("SELECT id, totp_secret FROM users"))).all())
        assert rows["u0"] == sealed_gone  # kept: an administrator's two-factor reset fixes it
        assert rows["u1"].startswith("t3:")
        assert newer.open_totp_secret(rows["u1"]) == ROOT.open_totp_secret(sealed_root)
    finally:
        await engine.dispose()


def test_the_reseal_command_reports_unopenable_secrets(tmp_path: Path) -> None:
    asyncio.run(_unopenable_in_sqlite(tmp_path / "db.sqlite"))
    ring = keyring_file(tmp_path, ROOT, "ring")
    env = {
        "GREENNET_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        "GREENNET_KEYRING_FILE": str(ring),
    }
    done = run_cli("reseal-totp", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "1 TOTP secret(s) are sealed with a key no longer in the keyring" in done.stderr
    assert "Traceback" not in done.stderr


async def insert_two_factor_account(
    engine: AsyncEngine, user_id: str, sealed: str, clock: FakeClock
) -> None:
    """An account whose TOTP secret is `sealed` (written directly: any key may have sealed it)."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(users).values(
                id=user_id, email=f"{user_id}@example.com", password_hash="x", role="user",
                display_name="U", disabled=False, totp_secret=sealed, totp_enabled=True,
                created_at=clock(), updated_at=clock(),
            )
        )  # fmt: skip


async def _unopenable_in_sqlite(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine, ROOT)
        sealed = ROOT.rotated("totp_secret", "gone").seal_totp_secret(pyotp.random_base32())
        await insert_two_factor_account(engine, "u", sealed, FakeClock())
    finally:
        await engine.dispose()
