"""Accounts: register, login, refresh, logout, profile, password rules, TOTP, administration."""

from __future__ import annotations

import pyotp
import pytest
from greennet_cloud.security.passwords import PasswordHasher
from greennet_cloud.services.admin import create_admin
from greennet_cloud.services.base import Service
from greennet_cloud.web.keys import ENGINE

from .api import PASSWORD, Api
from .conftest import FAST_HASHING, FakeClock


async def test_register_login_and_profile(api: Api) -> None:
    registered = await api.register("Alice@Example.com ")
    assert registered.status == 201
    assert registered.body["email"] == "alice@example.com"
    assert registered.body["role"] == "user"
    assert "password" not in str(registered.body)
    login = await api.login("alice@example.com")
    assert login.status == 200
    assert set(login.body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert login.body["token_type"] == "bearer"
    assert login.body["expires_in"] == 900
    me = await api.call("GET", "/api/v1/users/me", token=login.body["access_token"])
    assert me.status == 200
    assert me.body["id"] == registered.body["id"]


async def test_duplicate_email_is_a_conflict(api: Api) -> None:
    await api.account("bob@example.com")
    again = await api.register("BOB@example.com", "another long password")
    assert (again.status, again.error) == (409, "email_taken")


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("short1!", False),  # 7 characters
        ("x" * 129, False),
        ("password123", False),  # on the common list
        ("Password1", False),  # common, whatever the case
        ("Qwertyuiop", False),
        ("12345678", False),
        ("abcdefgh", False),
        ("eight ch", True),  # exactly 8, no composition rules
        ("ünïcødé✓", True),
        ("x" * 128, True),
    ],
)
async def test_password_rules_follow_asvs(api: Api, password: str, accepted: bool) -> None:
    reply = await api.register("carol@example.com", password)
    assert reply.status == (201 if accepted else 400), reply.body
    if not accepted:
        assert reply.error == "weak_password"


async def test_invalid_emails_are_rejected(api: Api) -> None:
    for email in ("no-at-sign", "a@b", "two@@example.com", "sp ace@example.com", ""):
        reply = await api.register(email)
        assert (reply.status, reply.error) == (400, "invalid_email"), email


async def test_wrong_password_and_unknown_account_look_the_same(api: Api) -> None:
    await api.account("dave@example.com")
    wrong = await api.login("dave@example.com", "not the password")
    unknown = await api.login("nobody@example.com", "not the password")
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body)
    assert wrong.status == 401
    assert wrong.error == "invalid_credentials"


async def test_refresh_rotates_the_token(api: Api) -> None:
    user = await api.account("erin@example.com")
    rotated = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh}
    )
    assert rotated.status == 200
    assert rotated.body["refresh_token"] != user.refresh
    me = await api.call("GET", "/api/v1/users/me", token=rotated.body["access_token"])
    assert me.status == 200
    again = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": rotated.body["refresh_token"]}
    )
    assert again.status == 200


async def test_logout_revokes_the_session(api: Api) -> None:
    user = await api.account("frank@example.com")
    out = await api.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": user.refresh})
    assert out.status == 204
    me = await api.call("GET", "/api/v1/users/me", token=user.access)
    assert (me.status, me.error) == (401, "invalid_token")
    refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh}
    )
    assert refresh.status == 401
    unknown = await api.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": "nope"})
    assert unknown.status == 204


async def test_logout_all_ends_every_session(api: Api) -> None:
    first = await api.account("gina@example.com")
    second = await api.session(first.email, first.id)
    out = await api.call("POST", "/api/v1/auth/logout-all", token=first.access)
    assert out.status == 204
    for session in (first, second):
        assert (await api.call("GET", "/api/v1/users/me", token=session.access)).status == 401
        refresh = await api.call(
            "POST", "/api/v1/auth/refresh", json_body={"refresh_token": session.refresh}
        )
        assert refresh.status == 401


async def test_profile_update(api: Api) -> None:
    user = await api.account("hank@example.com")
    await api.account("taken@example.com")
    changed = await api.call(
        "PATCH", "/api/v1/users/me", token=user.access, json_body={"display_name": " Hank "}
    )
    assert (changed.status, changed.body["display_name"]) == (200, "Hank")
    clash = await api.call(
        "PATCH", "/api/v1/users/me", token=user.access,
        json_body={"email": "taken@example.com", "current_password": user.password},
    )  # fmt: skip
    assert (clash.status, clash.error) == (409, "email_taken")
    empty = await api.call(
        "PATCH", "/api/v1/users/me", token=user.access, json_body={"display_name": "  "}
    )
    assert empty.status == 400


async def test_totp_enroll_confirm_and_require_at_login(api: Api, clock: FakeClock) -> None:
    user = await api.account("ivy@example.com")
    reauth = {"current_password": user.password}
    enrolled = await api.call("POST", "/api/v1/auth/totp", token=user.access, json_body=reauth)
    assert enrolled.status == 201
    secret = enrolled.body["secret"]
    assert enrolled.body["otpauth_uri"].startswith("otpauth://totp/GreenNet:ivy%40example.com")
    totp = pyotp.TOTP(secret)
    bad = await api.call(
        "POST", "/api/v1/auth/totp/confirm", token=user.access,
        json_body={"code": "000000", **reauth},
    )  # fmt: skip
    assert (bad.status, bad.error) == (403, "invalid_totp")
    good = await api.call(
        "POST",
        "/api/v1/auth/totp/confirm",
        token=user.access,
        json_body={"code": totp.at(clock.now), **reauth},
    )
    assert good.status == 200
    assert len(good.body["recovery_codes"]) == 10
    missing = await api.login(user.email)
    assert (missing.status, missing.error) == (401, "totp_required")
    wrong = await api.login(user.email, totp="123456")
    assert (wrong.status, wrong.error) == (401, "invalid_totp")
    # the code used to confirm cannot be replayed; the next step's code works
    replay = await api.login(user.email, totp=totp.at(clock.now))
    assert (replay.status, replay.error) == (401, "invalid_totp")
    clock.advance(30)
    ok = await api.login(user.email, totp=totp.at(clock.now))
    assert ok.status == 200
    clock.advance(30)
    off = await api.call(
        "POST",
        "/api/v1/auth/totp/disable",
        token=ok.body["access_token"],
        json_body={"code": totp.at(clock.now), **reauth},
    )
    assert off.status == 204
    assert (await api.login(user.email)).status == 200


async def test_admin_manages_users(api: Api, clock: FakeClock) -> None:
    app = api.client.app
    assert app is not None
    service = Service(app[ENGINE], clock)
    admin_user, created = await create_admin(
        service, PasswordHasher(FAST_HASHING), "root@example.com", PASSWORD
    )
    assert created
    assert admin_user.role == "admin"
    admin = await api.session("root@example.com", admin_user.id)
    user = await api.account("jill@example.com")

    listed = await api.call("GET", "/api/v1/users", token=admin.access)
    assert sorted(u["email"] for u in listed.body) == ["jill@example.com", "root@example.com"]
    assert (await api.call("GET", "/api/v1/users", token=user.access)).status == 403

    guest = await api.call(
        "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"role": "guest"}
    )
    assert (guest.status, guest.body["role"]) == (200, "guest")
    no_home = await api.call("POST", "/api/v1/homes", token=user.access, json_body={"name": "Mine"})
    assert (no_home.status, no_home.error) == (403, "forbidden")

    disabled = await api.call(
        "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"disabled": True}
    )
    assert disabled.body["disabled"] is True
    assert (await api.call("GET", "/api/v1/users/me", token=user.access)).status == 401
    assert (await api.login(user.email)).error == "account_disabled"

    self_change = await api.call(
        "PATCH", f"/api/v1/users/{admin.id}", token=admin.access, json_body={"role": "user"}
    )
    assert (self_change.status, self_change.error) == (409, "self_change")
    bad_role = await api.call(
        "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"role": "root"}
    )
    assert bad_role.status == 400

    deleted = await api.call("DELETE", f"/api/v1/users/{user.id}", token=admin.access)
    assert deleted.status == 204
    assert (await api.call("GET", f"/api/v1/users/{user.id}", token=admin.access)).status == 404
    assert (await api.login(user.email)).status == 401
