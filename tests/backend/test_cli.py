"""`greennet-cloud` as a user runs it: serve with no flags, migrate, create-admin, config."""

from __future__ import annotations

import gc
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud.cli import serving_app
from greennet_cloud.config import Config, config_from_env, load_or_create_secret

from .conftest import FAST_HASHING, TEST_SECRET
from .live import FAST_ARGON2, LiveServer


def run_cli(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greennet_cloud", *args],
        cwd=cwd, env={**os.environ, **env}, input=stdin, text=True, capture_output=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, socket_enabled: None) -> Iterator[Path]:
    """An empty directory to run the command in (a "fresh machine")."""
    return tmp_path


def test_serve_starts_with_no_flags_and_shuts_down_gracefully(workdir: Path) -> None:
    # only the port comes from the environment so parallel runs do not clash on 8080
    server = LiveServer(env=FAST_ARGON2, cwd=workdir)
    server.start()
    try:
        health = requests.get(f"{server.base_url}/healthz", timeout=10)
        assert health.json() == {"status": "ok"}
        assert health.headers["X-Request-Id"]
        data = workdir / "greennet-data"
        assert (data / "greennet.db").exists()
        secret_file = data / "signing.key"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert len(secret_file.read_text().strip()) >= 32
        registered = requests.post(
            f"{server.base_url}/api/v1/auth/register",
            json={"email": "first@example.com", "password": "a long enough password"},
            timeout=10,
        )
        assert registered.status_code == 201
        tokens = requests.post(
            f"{server.base_url}/api/v1/auth/login",
            json={"email": "first@example.com", "password": "a long enough password"},
            timeout=10,
        ).json()
    finally:
        assert server.stop() == 0  # SIGTERM: finish, close the database, exit cleanly
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "applying migration 0001" in log
    # every access line carries the request id the client saw
    assert f'[{health.headers["X-Request-Id"]}] 127.0.0.1 "GET /healthz" 200' in log

    # a restart keeps the data and the secret: the old token still works
    again = LiveServer(env=FAST_ARGON2, cwd=workdir)
    again.start()
    try:
        me = requests.get(
            f"{again.base_url}/api/v1/users/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        )
        assert me.status_code == 200
        assert me.json()["email"] == "first@example.com"
    finally:
        assert again.stop() == 0


def test_migrate_and_create_admin(workdir: Path) -> None:
    env = {**FAST_ARGON2, "GREENNET_DATA_DIR": str(workdir / "state")}
    migrated = run_cli("migrate", cwd=workdir, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied migrations: ['0001'" in migrated.stderr
    assert "up to date" in run_cli("migrate", cwd=workdir, env=env).stderr

    weak = run_cli(
        "create-admin", "--email", "root@example.com", "--password-stdin",
        cwd=workdir, env=env, stdin="password\n",
    )  # fmt: skip
    assert weak.returncode == 1
    assert "password is too common" in weak.stderr
    made = run_cli(
        "create-admin", "--email", "root@example.com", "--password-stdin",
        cwd=workdir, env=env, stdin="an admin password\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created administrator root@example.com" in made.stdout

    server = LiveServer(env=env, cwd=workdir)
    server.start()
    try:
        tokens = requests.post(
            f"{server.base_url}/api/v1/auth/login",
            json={"email": "root@example.com", "password": "an admin password"},
            timeout=10,
        ).json()
        users = requests.get(
            f"{server.base_url}/api/v1/users",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        )
        assert [(u["email"], u["role"]) for u in users.json()] == [("root@example.com", "admin")]
    finally:
        server.stop()
    assert (workdir / "state" / "signing.key").exists()


def test_serve_flags_override_the_environment(workdir: Path) -> None:
    flagged = workdir / "flagged"
    server = LiveServer(
        env={**FAST_ARGON2, "GREENNET_DATA_DIR": str(workdir / "from-env")},
        args=("--data-dir", str(flagged), "--host", "127.0.0.1"),
        cwd=workdir,
    )
    server.start()
    try:
        assert requests.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
    assert (flagged / "greennet.db").exists()
    assert not (workdir / "from-env").exists()


def test_a_bad_configuration_is_one_clear_line(workdir: Path) -> None:
    bad_port = run_cli("migrate", cwd=workdir, env={"GREENNET_PORT": "eighty"})
    assert bad_port.returncode != 0
    assert "GREENNET_PORT='eighty' is not a valid int" in bad_port.stderr
    short = run_cli("migrate", cwd=workdir, env={"GREENNET_SECRET": "short"})
    assert "at least 32" in short.stderr
    assert "Traceback" not in bad_port.stderr + short.stderr


def test_an_ipv6_throttle_prefix_out_of_range_stops_startup(workdir: Path) -> None:
    refused = run_cli("migrate", cwd=workdir, env={"GREENNET_THROTTLE_IPV6_PREFIX": "16"})
    assert refused.returncode != 0
    assert (
        "configuration error: GREENNET_THROTTLE_IPV6_PREFIX=16 is not an IPv6 prefix length"
        " from 32 to 128" in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert not (workdir / "greennet-data").exists()  # refused before anything was created


def test_config_from_env_overlays_defaults(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s" * 40 + "\n")
    config = config_from_env(
        {
            "GREENNET_HOST": "192.0.2.1",
            "GREENNET_PORT": "9000",
            "GREENNET_DATABASE_URL": "postgresql+asyncpg://u@db/greennet",
            "GREENNET_SECRET_FILE": str(secret_file),
            "GREENNET_ARGON2_MEMORY_KIB": "65536",
            "GREENNET_LOGIN_PER_ACCOUNT": "3",
            "GREENNET_REGISTER_PER_ADDRESS": "2",
            "GREENNET_AUTO_MIGRATE": "false",
            "UNRELATED": "x",
        }
    )
    assert (config.host, config.port) == ("192.0.2.1", 9000)
    assert config.resolved_database_url == "postgresql+asyncpg://u@db/greennet"
    assert config.secret == "s" * 40
    assert config.password_hashing.memory_cost_kib == 65536
    assert config.password_hashing.time_cost == 2  # untouched default
    assert config.login_throttle.per_account == 3
    assert config.registration_throttle.per_address == 2
    assert config.registration_throttle.window_seconds == 3600  # untouched default
    assert config.auto_migrate is False
    assert Config().resolved_database_url.endswith("greennet-data/greennet.db")


def test_the_generated_secret_is_created_once(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert load_or_create_secret(tmp_path / "data") == first
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert load_or_create_secret(tmp_path / "other") != first


async def test_the_served_app_takes_its_startup_heap_out_of_full_collections(
    tmp_path: Path, socket_enabled: None
) -> None:
    # a full collection walked every object alive since startup (about 100 ms with the
    # loop stopped under load); `serve` freezes them once the database and jobs started
    config = Config(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'greennet.db'}",
        secret=TEST_SECRET,
        password_hashing=FAST_HASHING,
        run_jobs=False,
    )
    app = serving_app(config)
    assert gc.get_freeze_count() == 0
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            assert gc.get_freeze_count() > 10_000
            assert all(obj is not app for obj in gc.get_objects(2))
            assert (await client.get("/healthz")).status == 200
    finally:
        gc.unfreeze()
