"""Every failure has one JSON shape, bodies are bounded, requests carry ids, health works."""

from __future__ import annotations

import asyncio

import pytest
from greennet_cloud.services.homes import Homes

from .api import Api

JSON = {"Content-Type": "application/json"}


async def test_healthz_reports_ok_with_a_reachable_database(api: Api) -> None:
    reply = await api.call("GET", "/healthz")
    assert reply.status == 200
    assert reply.body == {"status": "ok"}


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b'{"email": "a@example.com",', b"\xff\xfe", b"[1, 2]", b'"text"', b""],
)
async def test_malformed_json_is_a_400_in_the_error_shape(api: Api, raw: bytes) -> None:
    reply = await api.call("POST", "/api/v1/auth/login", data=raw, headers=JSON)
    assert reply.status == 400
    assert reply.body == {"error": "invalid_json", "message": reply.body["message"]}
    assert "Traceback" not in reply.body["message"]


async def test_wrong_field_types_are_a_400_naming_the_field(api: Api) -> None:
    reply = await api.call(
        "POST", "/api/v1/auth/register", json_body={"email": 5, "password": ["x"]}
    )
    assert reply.status == 400
    assert reply.error == "invalid_input"
    assert "email" in reply.body["message"]


async def test_bodies_over_the_limit_are_refused_with_413(api: Api) -> None:
    big = b'{"email": "' + b"a" * (64 * 1024) + b'"}'
    reply = await api.call("POST", "/api/v1/auth/login", data=big, headers=JSON)
    assert reply.status == 413
    assert reply.error == "payload_too_large"
    just_under = b'{"email": "' + b"a" * 1000 + b'", "password": "x"}'
    assert (
        await api.call("POST", "/api/v1/auth/login", data=just_under, headers=JSON)
    ).status == 401


async def test_unknown_routes_and_methods_use_the_error_shape(api: Api) -> None:
    missing = await api.call("GET", "/api/v1/nothing-here")
    assert (missing.status, missing.error) == (404, "not_found")
    wrong_method = await api.call("PUT", "/healthz")
    assert (wrong_method.status, wrong_method.error) == (405, "method_not_allowed")
    assert wrong_method.headers["Allow"] == "GET"


async def test_request_ids_are_echoed_or_generated(api: Api) -> None:
    echoed = await api.call("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    generated = await api.call("GET", "/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert generated.headers["X-Request-Id"] not in {"", "bad id\twith junk"}
    error = await api.call("GET", "/api/v1/nothing-here")
    assert len(error.headers["X-Request-Id"]) == 32


async def test_an_unexpected_error_is_a_500_without_a_traceback(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = await api.account("boom@example.com")

    async def explode(*_args: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Homes, "list_homes", explode)
    reply = await api.call("GET", "/api/v1/homes", token=user.access)
    assert reply.status == 500
    assert reply.body == {"error": "internal_error", "message": "internal server error"}
    assert "secret internal detail" in caplog.text  # logged for operators, not sent


async def test_missing_or_malformed_authorization_is_401(api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        reply = await api.call("GET", "/api/v1/users/me", headers=headers)
        assert (reply.status, reply.error) == (401, "unauthenticated")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


async def test_junk_ids_and_nul_bytes_never_reach_the_database(api: Api) -> None:
    """PostgreSQL rejects NUL in text: such input must be a clean 4xx, not a 500."""
    user = await api.account("nul@example.com")
    for method, path in (
        ("GET", "/api/v1/devices/%00"),
        ("GET", "/api/v1/homes/%F2%A0%9C%89%00"),
        ("DELETE", "/api/v1/devices/greennet-abcdef/credentials/x%00y"),
        ("GET", "/api/v1/homes/not-a-uuid/shares"),
    ):
        reply = await api.call(method, path, token=user.access)
        assert (reply.status, reply.error) == (404, "not_found"), path
    login = await api.login("a\x00@example.com", "whatever password")
    assert (login.status, login.error) == (401, "invalid_credentials")
    register = await api.register("a\x00b@example.com")
    assert (register.status, register.error) == (400, "invalid_email")
    home = await api.call(
        "POST", "/api/v1/homes", token=user.access, json_body={"name": "bad\x00name"}
    )
    assert home.status == 400


async def test_concurrent_writes_all_succeed(api: Api) -> None:
    """SQLite serializes writers (BEGIN IMMEDIATE + busy timeout); nothing fails with 'locked'."""
    user = await api.account("busy@example.com")
    replies = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/homes", token=user.access, json_body={"name": f"H{i}"})
            for i in range(30)
        )
    )
    assert [reply.status for reply in replies] == [201] * 30
    listed = await api.call("GET", "/api/v1/homes", token=user.access)
    assert len(listed.body) == 30


async def test_racing_refreshes_with_one_token_let_only_one_through(api: Api) -> None:
    user = await api.account("racer@example.com")
    replies = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh})
            for _ in range(5)
        )
    )
    statuses = sorted(reply.status for reply in replies)
    assert statuses[0] == 200
    assert statuses[1:] == [401] * 4
