"""The verified-token memo: an access token that verified is not parsed and HMAC-checked
again on every request, yet it is still refused once expired, once its session is revoked,
and once the key that signed it is not the ring's; altered tokens never match it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from greennet_cloud.errors import Unauthenticated
from greennet_cloud.security import tokens as tokens_module
from greennet_cloud.security.keyring import Key, Keyring, KeySet
from greennet_cloud.security.tokens import LEEWAY_SECONDS, AccessTokens

from .api import Api
from .conftest import TEST_SECRET, FakeClock

RING = Keyring.from_root_secret(TEST_SECRET).access_token
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TTL = 900
ME = "/api/v1/users/me"


def access_tokens(keys: KeySet = RING) -> AccessTokens:
    return AccessTokens(keys, "greennet-cloud", "greennet-api", TTL)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT decodes (verifies) from now on."""
    seen: list[str] = []
    original = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counted)
    return seen


def test_a_token_that_verified_is_not_verified_again(decodes: list[str]) -> None:
    tokens = access_tokens()
    token = tokens.issue("user-1", "session-1", NOW)
    first = tokens.verify(token, NOW)
    again = tokens.verify(token, NOW + timedelta(seconds=10))
    assert first == again
    assert (again.user_id, again.session_id) == ("user-1", "session-1")
    assert decodes == [token]


def test_a_remembered_token_is_refused_once_it_expires(decodes: list[str]) -> None:
    tokens = access_tokens()
    token = tokens.issue("user-1", "session-1", NOW)
    tokens.verify(token, NOW)
    tokens.verify(token, NOW + timedelta(seconds=TTL + LEEWAY_SECONDS - 1))
    with pytest.raises(Unauthenticated):
        tokens.verify(token, NOW + timedelta(seconds=TTL + LEEWAY_SECONDS))
    assert decodes == [token]  # refused by the remembered expiry, not by a new parse


def test_an_altered_copy_of_a_remembered_token_is_refused(decodes: list[str]) -> None:
    tokens = access_tokens()
    token = tokens.issue("user-1", "session-1", NOW)
    tokens.verify(token, NOW)
    header, payload, signature = token.split(".")
    other_user = tokens.issue("user-2", "session-2", NOW).split(".")[1]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for altered in (f"{header}.{other_user}.{signature}", f"{header}.{payload}.{flipped}"):
        with pytest.raises(Unauthenticated):
            tokens.verify(altered, NOW)
    assert decodes[1:] == [f"{header}.{other_user}.{signature}", f"{header}.{payload}.{flipped}"]


def test_a_remembered_token_is_refused_when_its_key_left_the_ring() -> None:
    """The ring is fixed for a process (rotation restarts it), yet the memo does not trust a
    key by its id alone: a token is only taken from it with the very key that verified it."""
    old, new = Key("old", b"o" * 32), Key("new", b"n" * 32)
    tokens = access_tokens(KeySet((old,)))
    token = tokens.issue("user-1", "session-1", NOW)
    tokens.verify(token, NOW)
    tokens._keys = KeySet((new,))  # as if the ring were swapped in place
    with pytest.raises(Unauthenticated):
        tokens.verify(token, NOW)
    tokens._keys = KeySet((new, Key("old", b"x" * 32)))  # same id, other material
    with pytest.raises(Unauthenticated):
        tokens.verify(token, NOW)


def test_the_memo_is_bounded_and_forgets_the_oldest_first(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_module, "VERIFIED_MEMO_SIZE", 3)
    tokens = access_tokens()
    issued = [tokens.issue(f"user-{n}", f"session-{n}", NOW) for n in range(4)]
    for token in issued:
        tokens.verify(token, NOW)
    assert len(tokens._verified) == 3
    decodes.clear()
    for token in reversed(issued):
        tokens.verify(token, NOW)
    assert decodes == [issued[0]]  # only the oldest had to be verified again


def test_tokens_that_fail_are_not_remembered(decodes: list[str]) -> None:
    tokens = access_tokens()
    forged = jwt.encode({"sub": "x"}, b"k" * 32, "HS256", headers={"kid": "root"})
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.verify(forged, NOW)
    assert tokens._verified == {}
    assert decodes == [forged, forged]


async def test_a_revoked_session_is_refused_although_its_token_is_remembered(api: Api) -> None:
    user = await api.account("memo@example.com")
    laptop = await api.login(user.email, user.password)
    laptop_access = laptop.body["access_token"]
    assert (await api.call("GET", ME, token=laptop_access)).status == 200  # remembered now
    sessions = await api.call("GET", "/api/v1/auth/sessions", token=user.access)
    current = jwt.decode(user.access, options={"verify_signature": False})["sid"]
    other = next(s["id"] for s in sessions.body if s["id"] != current)
    ended = await api.call("DELETE", f"/api/v1/auth/sessions/{other}", token=user.access)
    assert ended.status == 204, ended.body
    refused = await api.call("GET", ME, token=laptop_access)
    assert (refused.status, refused.error) == (401, "invalid_token")
    assert (await api.call("GET", ME, token=user.access)).status == 200


async def test_a_remembered_token_expires_by_the_app_clock(api: Api, clock: FakeClock) -> None:
    user = await api.account("memo-expiry@example.com")
    assert (await api.call("GET", ME, token=user.access)).status == 200
    clock.advance(TTL + LEEWAY_SECONDS)
    expired = await api.call("GET", ME, token=user.access)
    assert (expired.status, expired.error) == (401, "invalid_token")
