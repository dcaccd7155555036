"""`create-admin` cannot hand admin rights to whoever registered the address first, and
registration can be open, by invitation or closed (issue #14 finding 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyotp
import pytest
from greennet_cloud import Config, create_app
from greennet_cloud.errors import Conflict
from greennet_cloud.security.passwords import PasswordHasher
from greennet_cloud.services.admin import create_admin
from greennet_cloud.services.base import Service
from greennet_cloud.web.keys import ENGINE, SESSION_CACHE

from .api import Api
from .conftest import FAST_HASHING, TEST_SECRET, ApiFactory, FakeClock, admin_account
from .linking import eventually
from .live import FAST_ARGON2
from .test_cli import run_cli

ADMIN_PASSWORD = "the operator's own password"


async def test_an_existing_account_is_promoted_only_on_request_and_loses_its_sessions(
    api: Api, clock: FakeClock
) -> None:
    """Someone registered the admin's address first, logged in and set up two-factor."""
    squatter = await api.account("admin@example.com")
    secret = (
        await api.call(
            "POST",
            "/api/v1/auth/totp",
            token=squatter.access,
            json_body={"current_password": squatter.password},
        )  # fmt: skip
    ).body["secret"]
    code = {"code": pyotp.TOTP(secret).at(clock.now), "current_password": squatter.password}
    confirm = await api.call(
        "POST", "/api/v1/auth/totp/confirm", token=squatter.access, json_body=code
    )
    assert confirm.status == 200
    assert api.client.app is not None
    service = Service(api.client.app[ENGINE], clock)
    hasher = PasswordHasher(FAST_HASHING)
    with pytest.raises(Conflict, match="pass --promote"):
        await create_admin(service, hasher, "admin@example.com", ADMIN_PASSWORD)
    me = await api.call("GET", "/api/v1/users/me", token=squatter.access)
    assert me.body["role"] == "user"  # refused: nothing changed

    user, created = await create_admin(
        service, hasher, "admin@example.com", ADMIN_PASSWORD, promote=True,
        sessions=api.client.app[SESSION_CACHE],
    )  # fmt: skip
    assert (created, user.role.value, user.totp_enabled) == (False, "admin", False)
    assert (await api.call("GET", "/api/v1/users/me", token=squatter.access)).status == 401
    stale = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": squatter.refresh}
    )
    assert stale.status == 401
    assert (await api.login("admin@example.com", squatter.password)).status == 401
    operator = await api.login("admin@example.com", ADMIN_PASSWORD)  # no TOTP asked
    assert operator.status == 200


def test_the_cli_refuses_an_existing_account_without_promote(
    tmp_path: Path, socket_enabled: None
) -> None:
    env = {**FAST_ARGON2, "GREENNET_DATA_DIR": str(tmp_path / "data")}
    args = ("create-admin", "--email", "taken@example.com", "--password-stdin")
    first = run_cli(*args, cwd=tmp_path, env=env, stdin=ADMIN_PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    again = run_cli(*args, cwd=tmp_path, env=env, stdin=ADMIN_PASSWORD + "\n")
    assert again.returncode == 1
    assert "pass --promote" in again.stderr
    promoted = run_cli(*args, "--promote", cwd=tmp_path, env=env, stdin=ADMIN_PASSWORD + "\n")
    assert promoted.returncode == 0, promoted.stderr
    assert "its sessions ended and its two-factor setup was cleared" in promoted.stdout


async def test_closed_registration_refuses_everyone(make_api: ApiFactory) -> None:
    api = await make_api(registration="closed")
    reply = await api.register("nobody@example.com")
    assert (reply.status, reply.error) == (403, "registration_closed")


async def test_invited_registration_takes_a_single_use_token(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(registration="invite")
    admin = await admin_account(api, clock, "root@example.com")
    assert (await api.register("walk-in@example.com")).error == "invitation_required"

    made = await api.call(
        "POST", "/api/v1/invitations", token=admin.access,
        json_body={"email": "Friend@Example.com", "ttl_days": 2},
    )  # fmt: skip
    assert made.status == 201
    token = made.body["token"]
    assert made.body["email"] == "friend@example.com"
    listed = await api.call("GET", "/api/v1/invitations", token=admin.access)
    assert [i["id"] for i in listed.body] == [made.body["id"]]
    assert "token" not in listed.body[0]

    def register(email: str, invitation: str) -> dict[str, str]:
        return {"email": email, "password": "a fine long password", "invitation": invitation}

    other = await api.call(
        "POST", "/api/v1/auth/register", json_body=register("other@example.com", token)
    )
    assert (other.status, other.error) == (403, "invalid_invitation")
    assert (await api.login("other@example.com", "a fine long password")).status == 401
    ok = await api.call(
        "POST", "/api/v1/auth/register", json_body=register("friend@example.com", token)
    )
    assert ok.status == 201
    reused = await api.call(
        "POST", "/api/v1/auth/register", json_body=register("friend2@example.com", token)
    )
    assert (reused.status, reused.error) == (403, "invalid_invitation")

    anyone = await api.call("POST", "/api/v1/invitations", token=admin.access, json_body={})
    clock.advance(7 * 24 * 3600 + 1)  # the default lifetime is a week
    late = await api.call(
        "POST", "/api/v1/auth/register",
        json_body=register("late@example.com", anyone.body["token"]),
    )  # fmt: skip
    assert (late.status, late.error) == (403, "invalid_invitation")


async def test_only_admins_invite_and_invitations_can_be_withdrawn(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(registration="invite")
    admin = await admin_account(api, clock, "root@example.com")
    made = await api.call("POST", "/api/v1/invitations", token=admin.access, json_body={})
    user_token = (await api.login("root@example.com")).body["access_token"]
    invitee = await api.call(
        "POST", "/api/v1/auth/register",
        json_body={"email": "u@example.com", "password": "a fine long password",
                   "invitation": made.body["token"]},
    )  # fmt: skip
    assert invitee.status == 201
    user = await api.login("u@example.com", "a fine long password")
    refused = await api.call(
        "POST", "/api/v1/invitations", token=user.body["access_token"], json_body={}
    )
    assert refused.status == 403
    second = await api.call("POST", "/api/v1/invitations", token=user_token, json_body={})
    gone = await api.call("DELETE", f"/api/v1/invitations/{second.body['id']}", token=admin.access)
    assert gone.status == 204
    withdrawn = await api.call(
        "POST", "/api/v1/auth/register",
        json_body={"email": "w@example.com", "password": "a fine long password",
                   "invitation": second.body["token"]},
    )  # fmt: skip
    assert withdrawn.error == "invalid_invitation"


def test_an_unknown_registration_mode_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GREENNET_REGISTRATION=maybe is not one of"):
        create_app(Config(data_dir=tmp_path, secret=TEST_SECRET, registration="maybe"))


async def test_a_promotion_from_the_command_line_ends_sessions_cached_by_running_servers(
    api: Api, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The serving process had the squatter's session in its cache when the operator ran
    `create-admin --promote`: on PostgreSQL the command tells it at once (NOTIFY); on SQLite
    no other process can hear it, and the entry ages out with the cache (documented)."""
    squatter = await api.account("admin@example.com")
    assert (await api.call("GET", "/api/v1/users/me", token=squatter.access)).status == 200
    env = {**FAST_ARGON2, "GREENNET_DATABASE_URL": database_url, "GREENNET_SECRET": TEST_SECRET}
    promoted = await asyncio.to_thread(
        run_cli, "create-admin", "--email", "admin@example.com", "--password-stdin",
        "--promote", cwd=tmp_path, env=env, stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr

    async def me() -> int:
        return (await api.call("GET", "/api/v1/users/me", token=squatter.access)).status

    if database_url.startswith("postgresql"):
        assert await eventually(me, 401)  # wall time: the app's clock stands still
    else:
        assert await me() == 200  # still cached in this process, for the cache's seconds
        clock.advance(6)
        assert await me() == 401
