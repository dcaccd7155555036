"""Sensitive changes re-authenticate (issue #14 finding 3): the e-mail address and two-factor
take the current password (and a code once two-factor is on), are throttled and end the
other sessions; recovery codes stand in for a lost phone; admins reset two-factor and
passwords."""

from __future__ import annotations

from typing import Any

import pyotp
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import text

from .api import Account, Api
from .conftest import FakeClock, admin_account


async def enable_totp(api: Api, user: Account, clock: FakeClock) -> tuple[pyotp.TOTP, list[str]]:
    """Turn two-factor on for `user`; its TOTP and recovery codes."""
    reauth = {"current_password": user.password}
    enrolled = await api.call("POST", "/api/v1/auth/totp", token=user.access, json_body=reauth)
    totp = pyotp.TOTP(enrolled.body["secret"])
    confirmed = await api.call(
        "POST", "/api/v1/auth/totp/confirm", token=user.access,
        json_body={"code": totp.at(clock.now), **reauth},
    )  # fmt: skip
    assert confirmed.status == 200, confirmed.body
    clock.advance(30)  # the confirming code is spent
    return totp, confirmed.body["recovery_codes"]


async def patch_me(api: Api, user: Account, **body: Any) -> tuple[int, str | None]:
    reply = await api.call("PATCH", "/api/v1/users/me", token=user.access, json_body=body)
    return reply.status, reply.error


async def test_a_new_email_needs_the_password_and_ends_the_other_sessions(api: Api) -> None:
    user = await api.account("old@example.com")
    other = await api.session(user.email, user.id)
    assert await patch_me(api, user, email="new@example.com") == (401, "reauth_required")
    assert await patch_me(api, user, email="new@example.com", current_password="not it!") == (
        401,
        "invalid_credentials",
    )
    assert await patch_me(api, user, display_name="Same Me") == (200, None)  # no re-auth
    assert (await api.call("GET", "/api/v1/users/me", token=other.access)).status == 200
    changed = await patch_me(api, user, email="new@example.com", current_password=user.password)
    assert changed == (200, None)
    assert (await api.call("GET", "/api/v1/users/me", token=other.access)).status == 401
    assert (await api.call("GET", "/api/v1/users/me", token=user.access)).status == 200
    assert (await api.login("new@example.com")).status == 200


async def test_with_two_factor_on_sensitive_changes_also_need_a_code(
    api: Api, clock: FakeClock
) -> None:
    user = await api.account("careful@example.com")
    totp, _codes = await enable_totp(api, user, clock)
    body = {"email": "moved@example.com", "current_password": user.password}
    assert await patch_me(api, user, **body) == (401, "totp_required")
    assert await patch_me(api, user, **body, totp="000000") == (401, "invalid_totp")
    assert await patch_me(api, user, **body, totp=totp.at(clock.now)) == (200, None)
    change = {"current_password": user.password, "new_password": "yet another password"}
    no_code = await api.call("POST", "/api/v1/auth/password", token=user.access, json_body=change)
    assert (no_code.status, no_code.error) == (401, "totp_required")
    clock.advance(30)
    with_code = await api.call(
        "POST", "/api/v1/auth/password", token=user.access,
        json_body={**change, "totp": totp.at(clock.now)},
    )  # fmt: skip
    assert with_code.status == 204


async def test_two_factor_setup_needs_the_password_and_ends_other_sessions(
    api: Api, clock: FakeClock
) -> None:
    user = await api.account("setup@example.com")
    other = await api.session(user.email, user.id)
    wrong = await api.call(
        "POST", "/api/v1/auth/totp", token=user.access, json_body={"current_password": "nope nope"}
    )
    assert (wrong.status, wrong.error) == (401, "invalid_credentials")
    totp, _codes = await enable_totp(api, user, clock)
    assert (await api.call("GET", "/api/v1/users/me", token=other.access)).status == 401
    third = await api.login(user.email, totp=totp.at(clock.now))
    clock.advance(30)
    no_password = await api.call(
        "POST", "/api/v1/auth/totp/disable", token=user.access,
        json_body={"code": totp.at(clock.now), "current_password": "wrong password"},
    )  # fmt: skip
    assert (no_password.status, no_password.error) == (401, "invalid_credentials")
    off = await api.call(
        "POST", "/api/v1/auth/totp/disable", token=user.access,
        json_body={"code": totp.at(clock.now), "current_password": user.password},
    )  # fmt: skip
    assert off.status == 204
    me = await api.call("GET", "/api/v1/users/me", token=third.body["access_token"])
    assert me.status == 401


async def test_re_authentication_is_throttled(api: Api) -> None:
    user = await api.account("guessed@example.com")
    statuses = [
        (await patch_me(api, user, email="x@example.com", current_password="guess guess"))[0]
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


async def test_recovery_codes_log_in_once_and_can_be_regenerated(
    api: Api, clock: FakeClock
) -> None:
    user = await api.account("lost-phone@example.com")
    totp, codes = await enable_totp(api, user, clock)
    assert len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 24 for code in codes)  # 120 bits each
    engine = api.client.app[ENGINE] if api.client.app is not None else None
    assert engine is not None
    async with engine.connect() as conn:
        stored = [
            row[0] for row in await conn.execute(text("SELECT code_hash FROM recovery_codes"))
        ]
    assert len(stored) == 10
    assert not {code.replace("-", "") for code in codes} & set(stored)  # hashes only

    typed = codes[0].replace("-", "").lower()  # however it is typed
    assert (await api.login(user.email, totp=typed)).status == 200
    again = await api.login(user.email, totp=codes[0])
    assert (again.status, again.error) == (401, "invalid_totp")  # one time only

    regenerated = await api.call(
        "POST", "/api/v1/auth/recovery-codes", token=user.access,
        json_body={"current_password": user.password, "totp": totp.at(clock.now)},
    )  # fmt: skip
    assert regenerated.status == 200
    assert (await api.login(user.email, totp=codes[1])).status == 401  # the old ones are gone
    assert (await api.login(user.email, totp=regenerated.body["recovery_codes"][0])).status == 200


async def test_admins_reset_two_factor_and_passwords(api: Api, clock: FakeClock) -> None:
    admin = await admin_account(api, clock, "root@example.com")
    user = await api.account("forgot@example.com")
    await enable_totp(api, user, clock)
    session = await api.call("GET", "/api/v1/auth/sessions", token=user.access)
    assert session.status == 200
    path = f"/api/v1/users/{user.id}"
    refused = await api.call(
        "POST", f"{path}/reset-two-factor", token=user.access,
        json_body={"current_password": user.password},
    )  # fmt: skip
    assert refused.status == 403
    wrong = await api.call(
        "POST", f"{path}/reset-two-factor", token=admin.access,
        json_body={"current_password": "not the admin's"},
    )  # fmt: skip
    assert (wrong.status, wrong.error) == (401, "invalid_credentials")
    reset = await api.call(
        "POST", f"{path}/reset-two-factor", token=admin.access,
        json_body={"current_password": admin.password},
    )  # fmt: skip
    assert reset.status == 204
    assert (await api.call("GET", "/api/v1/users/me", token=user.access)).status == 401
    assert (await api.login(user.email)).status == 200  # no code asked any more
    new_password = {"current_password": admin.password, "new_password": "handed over on paper"}
    done = await api.call(
        "POST", f"{path}/reset-password", token=admin.access, json_body=new_password
    )
    assert done.status == 204
    assert (await api.login(user.email)).status == 401
    assert (await api.login(user.email, "handed over on paper")).status == 200
