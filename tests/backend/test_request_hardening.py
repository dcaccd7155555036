"""Request hardening (issue #14 findings 7, 8, 10): deep JSON is a 400, bodies must be JSON,
one generic 401 for every unusable access token, and no API answer may be cached."""

from __future__ import annotations

import jwt
import pytest

from .api import Api
from .conftest import FakeClock

JSON = {"Content-Type": "application/json"}
GENERIC_401 = {
    "error": "invalid_token",
    "message": "the access token is invalid, expired or revoked",
}


@pytest.mark.parametrize(
    "raw",
    [b"[" * 20_000 + b"]" * 20_000, b'{"email": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"],
    ids=["top level", "in a field"],
)
async def test_deeply_nested_json_is_a_400_not_a_500(api: Api, raw: bytes) -> None:
    reply = await api.call("POST", "/api/v1/auth/login", data=raw, headers=JSON)
    assert (reply.status, reply.error) == (400, "invalid_json")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_json_endpoints_refuse_other_content_types_before_any_throttle(
    api: Api, content_type: str | None
) -> None:
    """A cross-site "simple" POST cannot reach the login throttle, so it cannot spend it."""
    body = b'{"email": "victim@example.com", "password": "wrong password guess"}'
    headers = {"Content-Type": content_type} if content_type else {}
    for _ in range(25):  # more than the per-address limit of failed logins
        reply = await api.call("POST", "/api/v1/auth/login", data=body, headers=headers)
        assert (reply.status, reply.error) == (415, "unsupported_media_type")
    # nothing was counted: the same address still gets real answers
    user = await api.account("victim@example.com")
    assert (await api.login(user.email)).status == 200


async def test_json_with_a_charset_parameter_is_accepted(api: Api) -> None:
    reply = await api.call(
        "POST",
        "/api/v1/auth/login",
        data=b'{"email": "a@example.com", "password": "whatever it is"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert (reply.status, reply.error) == (401, "invalid_credentials")


async def test_every_unusable_access_token_gets_the_same_answer(api: Api, clock: FakeClock) -> None:
    """No PyJWT reason ("Signature verification failed", "Invalid audience"…) reaches a client."""
    user = await api.account("probe@example.com")
    header, payload, _signature = user.access.split(".")
    other = await api.account("other@example.com")
    tokens = {
        "garbage": "not-a-token",
        "bad signature": f"{header}.{payload}.{other.access.split('.')[2]}",
        "wrong key": jwt.encode({"sub": user.id}, "k" * 40, "HS256"),
        "no kid": jwt.encode({"sub": user.id}, "k" * 40, "HS256", headers={"kid": "nope"}),
    }
    for name, token in tokens.items():
        reply = await api.call("GET", "/api/v1/users/me", token=token)
        assert (reply.status, reply.body) == (401, GENERIC_401), name
    logout = await api.call("POST", "/api/v1/auth/logout-all", token=user.access)
    assert logout.status == 204
    revoked = await api.call("GET", "/api/v1/users/me", token=user.access)
    assert (revoked.status, revoked.body) == (401, GENERIC_401)
    clock.advance(3600)
    expired = await api.call("GET", "/api/v1/users/me", token=other.access)
    assert (expired.status, expired.body) == (401, GENERIC_401)


async def test_token_and_secret_answers_are_never_cached(api: Api) -> None:
    user = await api.account("cache@example.com")
    login = await api.login(user.email)
    refreshed = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": login.body["refresh_token"]}
    )
    totp = await api.call(
        "POST", "/api/v1/auth/totp", token=user.access,
        json_body={"current_password": user.password},
    )  # fmt: skip
    home = await api.call("POST", "/api/v1/homes", token=user.access, json_body={"name": "H"})
    home_id = home.body["id"]
    device = await api.call(
        "POST",
        f"/api/v1/homes/{home_id}/devices",
        token=user.access,
        json_body={"id": "greennet-c0ffee"},
    )
    link = await api.call("POST", f"/api/v1/homes/{home_id}/link-tokens", token=user.access)
    rotated = await api.call(
        "POST", "/api/v1/devices/greennet-c0ffee/credentials", token=user.access
    )
    code = await api.call("POST", f"/api/v1/homes/{home_id}/pairing-codes", token=user.access)
    failed = await api.login(user.email, "wrong password guess")
    for reply in (login, refreshed, totp, device, link, rotated, code, failed):
        assert reply.status < 500
        assert reply.headers["Cache-Control"] == "no-store", reply.body
