"""Keys per purpose in a keyring with key ids (issue #14 finding 5): tokens carry `kid` and
survive a rotation, device credentials keep their key, TOTP secrets are stored encrypted,
and PostgreSQL refuses to start without explicit keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jwt
import pyotp
import pytest
from greennet_cloud import Config, create_app
from greennet_cloud.config import config_from_env
from greennet_cloud.security.keyring import Keyring, KeyringError, write_keyring_file
from greennet_cloud.storage import devices as device_store
from greennet_cloud.web.keys import DEVICES, ENGINE
from sqlalchemy import text

from .api import Api
from .conftest import TEST_SECRET, ApiFactory, FakeClock
from .test_cli import run_cli

ROOT = Keyring.from_root_secret(TEST_SECRET)


def keyring_file(tmp_path: Path, keyring: Keyring, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    write_keyring_file(path, keyring)
    return path


async def test_a_rotated_signing_key_logs_nobody_out(make_api: ApiFactory, tmp_path: Path) -> None:
    before = await make_api(keyring_file=keyring_file(tmp_path, ROOT, "before"))
    user = await before.account("rotating@example.com")
    assert jwt.get_unverified_header(user.access)["kid"] == "root"

    rotated = ROOT.rotated("access_token", "2026-12")
    after = await make_api(keyring_file=keyring_file(tmp_path, rotated, "after"))
    assert (await after.call("GET", "/api/v1/users/me", token=user.access)).status == 200
    fresh = await after.login(user.email)
    assert jwt.get_unverified_header(fresh.body["access_token"])["kid"] == "2026-12"
    # the old process (not yet restarted) does not know the new key: one generic 401
    stale = await before.call("GET", "/api/v1/users/me", token=fresh.body["access_token"])
    assert (stale.status, stale.error) == (401, "invalid_token")

    retired = rotated.retired("access_token", "root")
    later = await make_api(keyring_file=keyring_file(tmp_path, retired, "later"))
    assert (await later.call("GET", "/api/v1/users/me", token=user.access)).status == 401
    fresh_me = await later.call("GET", "/api/v1/users/me", token=fresh.body["access_token"])
    assert fresh_me.status == 200


async def test_tokens_signed_before_the_keyring_still_verify(api: Api, clock: FakeClock) -> None:
    """Tokens issued before this change carry no kid: they were signed with the root key."""
    user = await api.account("legacy@example.com")
    claims = jwt.decode(user.access, options={"verify_signature": False})
    legacy = jwt.encode(claims, ROOT.access_token.current.material, "HS256")
    assert "kid" not in jwt.get_unverified_header(legacy)
    assert (await api.call("GET", "/api/v1/users/me", token=legacy)).status == 200


async def test_device_credentials_survive_an_ingest_key_rotation(
    make_api: ApiFactory, tmp_path: Path, clock: FakeClock
) -> None:
    before = await make_api(keyring_file=keyring_file(tmp_path, ROOT, "before"))
    owner = await before.account("plugs@example.com")
    home = await before.call("POST", "/api/v1/homes", token=owner.access, json_body={"name": "H"})
    code = await before.call(
        "POST", f"/api/v1/homes/{home.body['id']}/pairing-codes", token=owner.access
    )
    added = await before.call(
        "POST", "/api/v1/devices/pair",
        json_body={"code": code.body["code"], "device_id": "greennet-00aa11"},
    )  # fmt: skip
    old_secret = added.body["credential"]["secret"]
    device_id = added.body["device"]["id"]

    clock.advance(60)
    rotated = ROOT.rotated("device_ingest", "ingest-2")
    after = await make_api(keyring_file=keyring_file(tmp_path, rotated, "after"))
    devices = after.client.app[DEVICES] if after.client.app is not None else None
    assert devices is not None
    engine = after.client.app[ENGINE] if after.client.app is not None else None
    assert engine is not None
    async with engine.connect() as conn:
        device = await device_store.find_device(conn, device_id)
        [stored] = await device_store.list_credentials(conn, device_id)
    assert device is not None
    assert stored.key_id == "root"
    assert devices.ingest_secret(device, stored) == old_secret  # still valid after rotating
    new = await after.call("POST", f"/api/v1/devices/{device_id}/credentials", token=owner.access)
    async with engine.connect() as conn:
        newest = (await device_store.list_credentials(conn, device_id))[0]
    assert newest.key_id == "ingest-2"
    assert devices.ingest_secret(device, newest) == new.body["secret"]

    retired = rotated.retired("device_ingest", "root")
    later = await make_api(keyring_file=keyring_file(tmp_path, retired, "later"))
    assert later.client.app is not None
    assert later.client.app[DEVICES].ingest_secret(device, stored) is None  # its key is gone


async def test_totp_secrets_are_stored_encrypted_and_survive_a_rotation(
    make_api: ApiFactory, tmp_path: Path, clock: FakeClock
) -> None:
    before = await make_api(keyring_file=keyring_file(tmp_path, ROOT, "before"))
    user = await before.account("sealed@example.com")
    secret = (
        await before.call(
            "POST",
            "/api/v1/auth/totp",
            token=user.access,
            json_body={"current_password": user.password},
        )  # fmt: skip
    ).body["secret"]
    engine = before.client.app[ENGINE] if before.client.app is not None else None
    assert engine is not None
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT totp_secret FROM users"))).scalar_one()
    assert secret not in stored
    assert stored.startswith("root:")
    code = pyotp.TOTP(secret).at(clock.now)
    confirm = await before.call(
        "POST",
        "/api/v1/auth/totp/confirm",
        token=user.access,
        json_body={"code": code, "current_password": user.password},
    )
    assert confirm.status == 200
    after = await make_api(
        keyring_file=keyring_file(tmp_path, ROOT.rotated("totp_secret", "t2"), "after")
    )
    clock.advance(30)
    login = await after.login(user.email, totp=pyotp.TOTP(secret).at(clock.now))
    assert login.status == 200


def test_postgresql_refuses_to_start_without_explicit_keys(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, database_url="postgresql+asyncpg://u@db.invalid/g")
    with pytest.raises(ValueError, match="on PostgreSQL set GREENNET_SECRET"):
        create_app(config)
    assert not (tmp_path / "signing.key").exists()
    explicit = dataclasses.replace(config, secret=TEST_SECRET)
    assert explicit.resolve().keyring is not None


def test_the_cli_refuses_postgresql_without_keys(tmp_path: Path) -> None:
    refused = run_cli(
        "migrate",
        cwd=tmp_path,
        env={"GREENNET_DATABASE_URL": "postgresql+asyncpg://u@db.invalid/g"},
    )
    assert refused.returncode != 0
    assert "on PostgreSQL set GREENNET_SECRET" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_rotate_key_starts_a_keyring_from_the_signing_secret(tmp_path: Path) -> None:
    env = {"GREENNET_DATA_DIR": str(tmp_path / "data"), "GREENNET_SECRET": TEST_SECRET}
    done = run_cli("rotate-key", "access_token", "--key-id", "k2", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "data" / "keyring.json").stat()
    assert written.st_mode & 0o777 == 0o600
    ring = Keyring.from_json((tmp_path / "data" / "keyring.json").read_text())
    assert [key.id for key in ring.access_token.keys] == ["k2", "root"]
    assert ring.access_token.get("root") == ROOT.access_token.current
    assert ring.device_ingest == ROOT.device_ingest
    again = run_cli("rotate-key", "access_token", "--key-id", "k2", cwd=tmp_path, env=env)
    assert again.returncode != 0  # the written keyring is the one in use now: k2 exists
    assert "'k2' is invalid or already used" in again.stderr
    assert config_from_env({"GREENNET_KEYRING_FILE": "/x.json"}).keyring_file == Path("/x.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"access_token": []}', "exactly these purposes"),
        (
            '{"access_token": [{"id": "a", "key": "c2hvcnQ"}], "device_ingest": [],'
            ' "totp_secret": []}',
            "access_token key 'a' is shorter than 32 bytes",
        ),
    ],
)
def test_a_bad_keyring_file_is_refused(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        Keyring.from_json(text)


def test_a_key_never_shows_its_material() -> None:
    assert "material" not in repr(ROOT.access_token.current)
    assert repr(ROOT.access_token.current) == "Key(id='root')"
