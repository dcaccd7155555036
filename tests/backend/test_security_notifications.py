"""Security notifications: a sign-in from a new network (not the first sign-in, not a known
network), a password changed by its owner or an administrator, two-factor turned on or off;
each in the app and, for a verified address, by mail."""

from __future__ import annotations

from typing import Any

import pyotp

from .api import PASSWORD, Account, Api
from .conftest import LOOPBACK, ApiFactory, FakeClock, admin_account
from .mail import SmtpServer
from .mailing import mailing_api, verified_account
from .notifying import eventually

N = "/api/v1/notifications"


async def security_notes(api: Api, who: Account) -> list[dict[str, Any]]:
    reply = await api.call("GET", N, token=who.access)
    assert reply.status == 200, reply.body
    return [n for n in reply.body if n["type"].startswith("security_")][::-1]


async def login_from(api: Api, email: str, address: str, password: str = PASSWORD) -> Any:
    reply = await api.call(
        "POST", "/api/v1/auth/login", json_body={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )  # fmt: skip
    assert reply.status == 200, reply.body
    return reply.body


async def test_a_sign_in_from_a_new_network_is_notified_once(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    registered = await api.register("ada@example.com")
    assert registered.status == 201
    home_network = await login_from(api, "ada@example.com", "198.51.100.7")
    ada = Account(registered.body["id"], "ada@example.com", PASSWORD,
                  home_network["access_token"], home_network["refresh_token"])  # fmt: skip
    assert await security_notes(api, ada) == []  # the first sign-in: nothing to compare with
    await login_from(api, "ada@example.com", "198.51.100.7")
    assert await security_notes(api, ada) == []  # a known network
    await login_from(api, "ada@example.com", "203.0.113.9")
    [note] = await security_notes(api, ada)
    assert note["type"] == "security_new_login"
    assert note["data"] == {"network": "203.0.113.9"}
    await login_from(api, "ada@example.com", "203.0.113.9")
    clock.advance(1)  # notifications list newest first: one second apart, the order is known
    # one IPv6 host moving inside its /64 is one network
    await login_from(api, "ada@example.com", "2001:db8:1:2::10")
    await login_from(api, "ada@example.com", "2001:db8:1:2::99")
    notes = await security_notes(api, ada)
    assert [n["data"]["network"] for n in notes] == ["203.0.113.9", "2001:db8:1:2::/64"]


async def test_password_and_two_factor_changes_are_notified(api: Api, clock: FakeClock) -> None:
    user = await api.account("ivy@example.com")
    reauth = {"current_password": user.password}
    changed = await api.call(
        "POST", "/api/v1/auth/password", token=user.access,
        json_body={**reauth, "new_password": "another long passphrase"},
    )  # fmt: skip
    assert changed.status == 204
    clock.advance(1)
    reauth = {"current_password": "another long passphrase"}
    enrolled = await api.call("POST", "/api/v1/auth/totp", token=user.access, json_body=reauth)
    totp = pyotp.TOTP(enrolled.body["secret"])
    confirmed = await api.call(
        "POST", "/api/v1/auth/totp/confirm", token=user.access,
        json_body={"code": totp.at(clock.now), **reauth},
    )  # fmt: skip
    assert confirmed.status == 200
    clock.advance(30)
    off = await api.call(
        "POST", "/api/v1/auth/totp/disable", token=user.access,
        json_body={"code": totp.at(clock.now), **reauth},
    )  # fmt: skip
    assert off.status == 204
    notes = await security_notes(api, user)
    assert [(n["type"], n["data"]) for n in notes] == [
        ("security_password_changed", {"how": "changed"}),
        ("security_totp_changed", {"enabled": True, "by_admin": False}),
        ("security_totp_changed", {"enabled": False, "by_admin": False}),
    ]


async def test_an_administrators_password_reset_is_notified(api: Api, clock: FakeClock) -> None:
    admin = await admin_account(api, clock, "root@example.com")
    user = await api.account("bo@example.com")
    reset = await api.call(
        "POST", f"/api/v1/users/{user.id}/reset-password", token=admin.access,
        json_body={"current_password": PASSWORD, "new_password": "handed over by phone"},
    )  # fmt: skip
    assert reset.status == 204, reset.body
    again = await api.session(user.email, user.id, "handed over by phone")
    [note] = await security_notes(api, again)
    assert note["data"] == {"how": "admin"}
    assert await security_notes(api, admin) == []


async def test_security_mail_goes_to_a_verified_address(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await verified_account(api, smtp_server, "cy@example.com")
    smtp_server.clear()
    changed = await api.call(
        "POST", "/api/v1/auth/password", token=user.access,
        json_body={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )  # fmt: skip
    assert changed.status == 204
    await eventually(lambda: len(smtp_server.to(user.email)) == 1, what="the security mail")
    assert smtp_server.to(user.email)[0]["Subject"] == "Your GreenNet password was changed"
