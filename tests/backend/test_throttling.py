"""Login throttling: per account and per address, 429 with Retry-After, and it always ends."""

from __future__ import annotations

import asyncio

from greennet_cloud.config import LoginThrottle

from .api import Api
from .conftest import LOOPBACK, ApiFactory, FakeClock

WINDOW = 900


async def fail(api: Api, email: str, times: int, address: str | None = None) -> list[int]:
    headers = {"X-Forwarded-For": address} if address else None
    statuses = []
    for _ in range(times):
        reply = await api.call(
            "POST",
            "/api/v1/auth/login",
            json_body={"email": email, "password": "wrong password guess"},
            headers=headers,
        )
        statuses.append(reply.status)
    return statuses


async def test_account_throttle_kicks_in_and_expires(api: Api, clock: FakeClock) -> None:
    user = await api.account("target@example.com")
    assert await fail(api, user.email, 5) == [401] * 5
    blocked = await api.login(user.email)  # even the right password waits
    assert (blocked.status, blocked.error) == (429, "too_many_attempts")
    assert int(blocked.headers["Retry-After"]) == WINDOW
    clock.advance(600)
    again = await api.login(user.email)
    assert again.status == 429
    assert int(again.headers["Retry-After"]) == WINDOW - 600
    clock.advance(WINDOW - 600 + 1)
    assert (await api.login(user.email)).status == 200


async def test_hammering_during_a_lockout_does_not_extend_it(api: Api, clock: FakeClock) -> None:
    """An attacker cannot keep a victim locked out by trying while the lock holds."""
    user = await api.account("victim@example.com")
    await fail(api, user.email, 5)
    for _ in range(10):
        clock.advance(60)
        assert (await fail(api, user.email, 3)) == [429] * 3
    clock.advance(WINDOW - 600 + 1)
    assert (await api.login(user.email)).status == 200


async def test_success_resets_the_account_counter(api: Api) -> None:
    user = await api.account("forgetful@example.com")
    await fail(api, user.email, 4)
    assert (await api.login(user.email)).status == 200
    assert await fail(api, user.email, 4) == [401] * 4
    assert (await api.login(user.email)).status == 200


async def test_unknown_accounts_are_throttled_like_real_ones(api: Api) -> None:
    assert await fail(api, "ghost@example.com", 6) == [401] * 5 + [429]


async def test_address_throttle_spans_accounts(api: Api, clock: FakeClock) -> None:
    """Spraying one password over many accounts from one client address is throttled too."""
    statuses: list[int] = []
    for index in range(21):
        statuses += await fail(api, f"user{index}@example.com", 1)
    assert statuses == [401] * 20 + [429]
    clock.advance(WINDOW + 1)
    assert await fail(api, "user99@example.com", 1) == [401]


async def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(api: Api) -> None:
    statuses: list[int] = []
    for index in range(21):
        statuses += await fail(api, f"spray{index}@example.com", 1, address=f"10.0.0.{index}")
    assert statuses[-1] == 429  # the header was ignored: one peer address


async def test_behind_a_trusted_proxy_each_client_address_counts_alone(
    make_api: ApiFactory,
) -> None:
    proxied = await make_api(trusted_proxies=LOOPBACK)
    statuses: list[int] = []
    for index in range(21):
        statuses += await fail(proxied, f"spray{index}@example.com", 1, address=f"10.0.0.{index}")
    assert statuses == [401] * 21
    assert (
        await fail(proxied, "spray99@example.com", 21, address="10.9.9.9") == [401] * 5 + [429] * 16
    )


async def test_change_password_guessing_is_throttled(api: Api) -> None:
    user = await api.account("stolen@example.com")
    body = {"current_password": "guess guess guess", "new_password": "whatever new pass"}
    statuses = [
        (await api.call("POST", "/api/v1/auth/password", token=user.access, json_body=body)).status
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


async def test_parallel_right_passwords_after_failures_all_get_in(make_api: ApiFactory) -> None:
    """Successes release their attempts and clear the account's keys: parallel successes must
    not deadlock on each other's rows (PostgreSQL answered 500 "deadlock detected")."""
    api = await make_api(login_throttle=LoginThrottle(per_account=100, per_address=100))
    user = await api.account("busy@example.com")
    for _ in range(3):  # rows under the shared keys that every success clears
        assert (await api.login(user.email, "wrong password here")).status == 401
    for _ in range(3):
        replies = await asyncio.gather(*(api.login(user.email) for _ in range(8)))
        assert [reply.status for reply in replies] == [200] * 8
