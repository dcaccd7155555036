"""The session cache: an authenticated request trusts a session found live for a few seconds,
yet revocation is immediate on the process that revoked and near-immediate (bus) on every
other process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
from greennet_cloud.bus import MemoryBus
from greennet_cloud.db.schema import sessions
from greennet_cloud.models import Role, User
from greennet_cloud.security.session_cache import SessionCache
from greennet_cloud.services.base import Principal
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import update

from .api import Account, Api
from .conftest import ApiFactory, FakeClock, admin_account

ME = "/api/v1/users/me"


async def revoke_behind_the_services_back(api: Api, account: Account, clock: FakeClock) -> None:
    """Revoke every session of `account` in the database without telling any cache."""
    app = api.client.app
    assert app is not None
    async with app[ENGINE].begin() as conn:
        await conn.execute(
            update(sessions).where(sessions.c.user_id == account.id).values(revoked_at=clock.now)
        )


async def status_of(api: Api, account: Account) -> int:
    return (await api.call("GET", ME, token=account.access)).status


async def test_a_live_session_is_trusted_for_the_cache_period_and_no_longer(
    api: Api, clock: FakeClock
) -> None:
    user = await api.account("cached@example.com")
    assert await status_of(api, user) == 200
    await revoke_behind_the_services_back(api, user, clock)
    assert await status_of(api, user) == 200  # answered from the cache, not the database
    clock.advance(5.1)  # the default GREENNET_SESSION_CACHE_SECONDS
    reply = await api.call("GET", ME, token=user.access)
    assert (reply.status, reply.error) == (401, "invalid_token")  # the one generic 401


async def test_without_the_cache_every_request_asks_the_database(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(session_cache_seconds=0)
    user = await api.account("uncached@example.com")
    assert await status_of(api, user) == 200
    await revoke_behind_the_services_back(api, user, clock)
    assert await status_of(api, user) == 401


@pytest.mark.parametrize("action", ["logout", "logout_all", "password", "disabled_by_admin"])
async def test_revocation_is_immediate_on_the_process_that_revoked(
    api: Api, clock: FakeClock, action: str
) -> None:
    user = await api.account(f"{action}@example.com")
    other = await api.session(user.email, user.id)
    for account in (user, other):
        assert await status_of(api, account) == 200  # both sessions cached now
    if action == "logout":
        await api.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": other.refresh})
    elif action == "logout_all":
        await api.call("POST", "/api/v1/auth/logout-all", token=user.access)
    elif action == "password":
        changed = await api.call(
            "POST",
            "/api/v1/auth/password",
            token=user.access,
            json_body={"current_password": user.password, "new_password": "a brand new secret"},
        )
        assert changed.status == 204
    else:
        admin = await admin_account(api, clock, "admin@example.com")
        disabled = await api.call(
            "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"disabled": True}
        )
        assert disabled.status == 200
    assert await status_of(api, other) == 401
    # logout ends only its own session; a password change keeps the changing one
    assert await status_of(api, user) == (200 if action in {"logout", "password"} else 401)


async def test_account_changes_show_at_once_to_a_cached_session(api: Api, clock: FakeClock) -> None:
    user = await api.account("renamed@example.com")
    before = await api.call("GET", ME, token=user.access)
    renamed = await api.call("PATCH", ME, token=user.access, json_body={"display_name": "Ida"})
    assert renamed.status == 200
    after = await api.call("GET", ME, token=user.access)
    assert (before.body["display_name"], after.body["display_name"]) == ("renamed", "Ida")
    admin = await admin_account(api, clock, "boss@example.com")
    demoted = await api.call(
        "PATCH", f"/api/v1/users/{user.id}", token=admin.access, json_body={"role": "guest"}
    )
    assert demoted.status == 200
    assert (await api.call("GET", ME, token=user.access)).body["role"] == "guest"


async def test_revocation_reaches_another_process_within_moments(
    make_api: ApiFactory,
) -> None:
    """Two apps on one database (two processes on PostgreSQL; on SQLite, one process's hub).
    The clock stands still, so only the bus can end the other app's cached session."""
    here, there = await make_api(), await make_api()
    user = await here.account("roaming@example.com")
    assert await status_of(there, user) == 200  # cached over there
    await here.call("POST", "/api/v1/auth/logout", json_body={"refresh_token": user.refresh})
    assert await status_of(here, user) == 401  # immediate where it was revoked
    started = time.monotonic()
    while await status_of(there, user) == 200:
        assert time.monotonic() - started < 2, "the other process kept the revoked session"
        await asyncio.sleep(0.01)
    assert await status_of(there, user) == 401


def principal(user_id: str, session_id: str) -> Principal:
    user = User(
        id=user_id,
        email=f"{user_id}@example.com",
        display_name=user_id,
        role=Role.USER,
        password_hash="x",
        totp_enabled=False,
        totp_secret=None,
        totp_last_step=None,
        disabled=False,
        created_at=FakeClock().now,
        updated_at=FakeClock().now,
    )
    return Principal(user=user, session_id=session_id)


async def test_a_load_that_raced_an_invalidation_is_not_cached(tmp_path: Path) -> None:
    clock = FakeClock()
    bus = MemoryBus(f"sqlite+aiosqlite:///{tmp_path}/race.db")
    cache = SessionCache(bus, clock, ttl_seconds=5)
    await cache.start()
    later = clock.now + timedelta(hours=1)
    try:
        generation = cache.generation  # a request starts loading session s-1 ...
        await cache.invalidate("s-1")  # ... while another revokes it
        cache.put(principal("u-1", "s-1"), later, generation)
        assert cache.get("s-1", "u-1") is None
        cache.put(principal("u-1", "s-1"), later, cache.generation)
        assert cache.get("s-1", "u-1") is not None
        assert cache.get("s-1", "someone-else") is None  # a token for another user
        cache.put(principal("u-2", "s-2"), later, cache.generation)
        await cache.invalidate_user("u-2")
        assert cache.get("s-2", "u-2") is None
        cache.put(principal("u-3", "s-3"), later, cache.generation)
        cache.clear()  # what a bus gap does
        assert cache.get("s-3", "u-3") is None
        cache.put(principal("u-4", "s-4"), clock.now + timedelta(seconds=1), cache.generation)
        clock.advance(1)
        assert cache.get("s-4", "u-4") is None  # never past the session's own expiry
    finally:
        await bus.close()
