"""Sessions (issue #14 finding 10): list, revoke one, idle timeout, and one function through
which every revocation goes (the hook a live-session cache needs)."""

from __future__ import annotations

from typing import Any

import pytest
from greennet_cloud.storage import sessions as session_store

from .api import Api
from .conftest import FakeClock, admin_account

IDLE = 3 * 24 * 3600


async def test_a_user_lists_their_sessions_and_ends_one(api: Api) -> None:
    laptop = await api.account("many@example.com")
    phone = await api.session(laptop.email, laptop.id)
    listed = await api.call("GET", "/api/v1/auth/sessions", token=laptop.access)
    assert listed.status == 200
    assert len(listed.body) == 2
    [current] = [s for s in listed.body if s["current"]]
    [other] = [s for s in listed.body if not s["current"]]
    ended = await api.call("DELETE", f"/api/v1/auth/sessions/{other['id']}", token=laptop.access)
    assert ended.status == 204
    assert (await api.call("GET", "/api/v1/users/me", token=phone.access)).status == 401
    refused = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": phone.refresh}
    )
    assert (refused.status, refused.error) == (401, "session_revoked")
    again = await api.call("DELETE", f"/api/v1/auth/sessions/{other['id']}", token=laptop.access)
    assert again.status == 404
    left = await api.call("GET", "/api/v1/auth/sessions", token=laptop.access)
    assert [s["id"] for s in left.body] == [current["id"]]


async def test_nobody_ends_or_sees_someone_elses_session(api: Api) -> None:
    victim = await api.account("victim@example.com")
    attacker = await api.account("attacker@example.com")
    victims = await api.call("GET", "/api/v1/auth/sessions", token=victim.access)
    victim_session = victims.body[0]["id"]
    listed = await api.call("GET", "/api/v1/auth/sessions", token=attacker.access)
    assert victim_session not in {s["id"] for s in listed.body}
    tried = await api.call(
        "DELETE", f"/api/v1/auth/sessions/{victim_session}", token=attacker.access
    )
    assert tried.status == 404
    assert (await api.call("GET", "/api/v1/users/me", token=victim.access)).status == 200


async def test_an_idle_session_ends(api: Api, clock: FakeClock) -> None:
    user = await api.account("idle@example.com")
    clock.advance(IDLE - 60)
    kept = await api.call("POST", "/api/v1/auth/refresh", json_body={"refresh_token": user.refresh})
    assert kept.status == 200  # used just in time: the idle clock starts again
    clock.advance(IDLE - 60)
    again = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": kept.body["refresh_token"]}
    )
    assert again.status == 200
    clock.advance(IDLE)
    idle = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": again.body["refresh_token"]}
    )
    assert (idle.status, idle.error) == (401, "session_expired")
    other = await api.session(user.email, user.id)
    listed = await api.call("GET", "/api/v1/auth/sessions", token=other.access)
    assert len(listed.body) == 1  # the idle one is gone


async def test_every_revocation_goes_through_one_function(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reasons: list[str] = []
    original = session_store.revoke_sessions

    async def recorded(conn: Any, user_id: str, now: Any, reason: str, **kwargs: Any) -> list[str]:
        reasons.append(reason)
        return await original(conn, user_id, now, reason, **kwargs)

    monkeypatch.setattr(session_store, "revoke_sessions", recorded)
    admin = await admin_account(api, clock, "root@example.com")
    user = await api.account("hooked@example.com")
    second = await api.session(user.email, user.id)
    await api.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": second.refresh})
    third = await api.session(user.email, user.id)
    sessions = await api.call("GET", "/api/v1/auth/sessions", token=user.access)
    other = next(s["id"] for s in sessions.body if not s["current"])
    await api.call("DELETE", f"/api/v1/auth/sessions/{other}", token=user.access)
    body = {"current_password": user.password, "new_password": "another good password"}
    await api.call("POST", "/api/v1/auth/password", token=user.access, json_body=body)
    await api.call("POST", "/api/v1/auth/refresh", json_body={"refresh_token": third.refresh})
    await api.call(
        "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"disabled": True}
    )
    await api.call("POST", "/api/v1/auth/logout-all", token=admin.access)
    assert reasons == ["logout", "revoked", "password_changed", "disabled", "logout_all"]
