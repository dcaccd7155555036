"""Token security: forged, altered, expired or misused tokens are 401; refresh reuse and
password changes revoke sessions."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from greennet_cloud.security.keyring import Keyring
from greennet_cloud.security.tokens import AccessTokens

from .api import Api
from .conftest import TEST_SECRET, FakeClock

# the keys of an installation with only GREENNET_SECRET (key id "root")
KEYS = Keyring.from_root_secret(TEST_SECRET).access_token
KEY = KEYS.current.material


def claims_for(user_id: str, session_id: str, now: float, **changes: Any) -> dict[str, Any]:
    """A valid claim set, with `changes` applied (None removes a claim)."""
    claims: dict[str, Any] = {
        "iss": "greennet-cloud",
        "aud": "greennet-api",
        "sub": user_id,
        "sid": session_id,
        "typ": "access",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 900,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def decode_unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_correctly_forged_token_is_accepted_so_the_cases_below_mean_something(
    api: Api, clock: FakeClock
) -> None:
    user = await api.account("victim@example.com")
    real = decode_unverified(user.access)
    token = jwt.encode(claims_for(user.id, real["sid"], clock.now.timestamp()), KEY, "HS256")
    assert (await api.call("GET", "/api/v1/users/me", token=token)).status == 200


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "wrong_key",
        "hs512",
        "wrong_audience",
        "wrong_issuer",
        "tampered_payload",
        "missing_exp",
        "missing_iat",
        "missing_nbf",
        "missing_iss",
        "missing_aud",
        "missing_sub",
        "missing_typ",
        "missing_sid",
        "refresh_typ",
        "not_yet_valid",
        "expired_claim",
        "unknown_session",
        "garbage",
    ],
)
async def test_bad_access_tokens_are_rejected(api: Api, clock: FakeClock, case: str) -> None:
    victim = await api.account("victim@example.com")
    attacker = await api.account("attacker@example.com")
    sid = decode_unverified(victim.access)["sid"]
    now = clock.now.timestamp()
    good = claims_for(victim.id, sid, now)
    if case == "alg_none":
        token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(good)}."
    elif case == "wrong_key":
        token = jwt.encode(good, b"another key of the same length....", "HS256")
    elif case == "hs512":
        token = jwt.encode(good, KEY, "HS512")
    elif case == "wrong_audience":
        token = jwt.encode({**good, "aud": "someone-else"}, KEY, "HS256")
    elif case == "wrong_issuer":
        token = jwt.encode({**good, "iss": "evil-cloud"}, KEY, "HS256")
    elif case == "tampered_payload":
        # the attacker's own valid token, with the subject swapped for the victim's
        header, _payload, signature = attacker.access.split(".")
        swapped = {**decode_unverified(attacker.access), "sub": victim.id, "sid": sid}
        token = f"{header}.{b64(swapped)}.{signature}"
    elif case.startswith("missing_"):
        token = jwt.encode(claims_for(victim.id, sid, now, **{case[8:]: None}), KEY, "HS256")
    elif case == "refresh_typ":
        token = jwt.encode({**good, "typ": "refresh"}, KEY, "HS256")
    elif case == "not_yet_valid":
        token = jwt.encode({**good, "nbf": int(now) + 600}, KEY, "HS256")
    elif case == "expired_claim":
        token = jwt.encode({**good, "exp": int(now) - 60}, KEY, "HS256")
    elif case == "unknown_session":
        token = jwt.encode({**good, "sid": "00000000-0000-0000-0000-000000000000"}, KEY, "HS256")
    else:
        token = "not.a.jwt"
    reply = await api.call("GET", "/api/v1/users/me", token=token)
    assert reply.status == 401, reply.body
    assert reply.body == {
        "error": "invalid_token",
        "message": "the access token is invalid, expired or revoked",
    }


async def test_access_tokens_expire_by_the_clock(api: Api, clock: FakeClock) -> None:
    user = await api.account("eve@example.com")
    clock.advance(880)
    assert (await api.call("GET", "/api/v1/users/me", token=user.access)).status == 200
    clock.advance(30)
    expired = await api.call("GET", "/api/v1/users/me", token=user.access)
    assert (expired.status, expired.error) == (401, "invalid_token")


async def test_access_token_is_not_a_refresh_token_and_vice_versa(api: Api) -> None:
    user = await api.account("mallory@example.com")
    as_refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.access}
    )
    assert (as_refresh.status, as_refresh.error) == (401, "invalid_refresh_token")
    as_access = await api.call("GET", "/api/v1/users/me", token=user.refresh)
    assert (as_access.status, as_access.error) == (401, "invalid_token")


async def test_reusing_a_refresh_token_revokes_its_whole_family(api: Api) -> None:
    user = await api.account("trent@example.com")
    other_session = await api.session(user.email, user.id)
    first = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh}
    )
    second = await api.call(
        "POST",
        "/api/v1/auth/refresh",
        json_body={"refresh_token": first.body["refresh_token"]},
    )
    assert second.status == 200
    reuse = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh}
    )
    assert (reuse.status, reuse.error) == (401, "refresh_token_reused")
    # every token of that family is dead now, including the newest one
    latest = await api.call(
        "POST",
        "/api/v1/auth/refresh",
        json_body={"refresh_token": second.body["refresh_token"]},
    )
    assert (latest.status, latest.error) == (401, "session_revoked")
    me = await api.call("GET", "/api/v1/users/me", token=second.body["access_token"])
    assert me.status == 401
    # a separate login of the same account is not affected
    assert (await api.call("GET", "/api/v1/users/me", token=other_session.access)).status == 200


async def test_changing_the_password_revokes_other_sessions(api: Api) -> None:
    user = await api.account("walter@example.com")
    other = await api.session(user.email, user.id)
    wrong = await api.call(
        "POST",
        "/api/v1/auth/password",
        token=user.access,
        json_body={"current_password": "not it at all", "new_password": "a brand new secret"},
    )
    assert (wrong.status, wrong.error) == (401, "invalid_credentials")
    weak = await api.call(
        "POST",
        "/api/v1/auth/password",
        token=user.access,
        json_body={"current_password": user.password, "new_password": "password1"},
    )
    assert (weak.status, weak.error) == (400, "weak_password")
    changed = await api.call(
        "POST",
        "/api/v1/auth/password",
        token=user.access,
        json_body={"current_password": user.password, "new_password": "a brand new secret"},
    )
    assert changed.status == 204
    assert (await api.call("GET", "/api/v1/users/me", token=other.access)).status == 401
    stale = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": other.refresh}
    )
    assert stale.status == 401
    assert (await api.call("GET", "/api/v1/users/me", token=user.access)).status == 200
    assert (await api.login(user.email)).status == 401
    assert (await api.login(user.email, "a brand new secret")).status == 200


async def test_expired_sessions_cannot_refresh(api: Api, clock: FakeClock) -> None:
    user = await api.account("old@example.com")
    clock.advance(30 * 24 * 3600 + 1)
    reply = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh}
    )
    assert (reply.status, reply.error) == (401, "session_expired")


def test_tokens_carry_every_required_claim_and_one_algorithm() -> None:
    tokens = AccessTokens(KEYS, "iss", "aud", 60)
    token = tokens.issue("u", "s", datetime.now(UTC))
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "root"}
    claims = decode_unverified(token)
    assert {"exp", "iat", "nbf", "iss", "aud", "sub", "typ", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 60
    assert abs(claims["iat"] - time.time()) < 5
