"""Brute-force limits hold under parallel requests (issue #14 finding 1), an attacker cannot
lock the owner out (finding 4), a TOTP code is single use under concurrency and throttle
upkeep never scans the table (finding 10)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from greennet_cloud.config import LoginThrottle
from greennet_cloud.security.passwords import PasswordHasher
from greennet_cloud.storage import devices as device_store
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import event

from .api import PASSWORD, Api
from .conftest import LOOPBACK, ApiFactory, FakeClock

PARALLEL = 50
PER_ACCOUNT = 5  # failures per (account, network) per window, the default
PER_ADDRESS = 20  # failures per network per window, the default


class Counter:
    """Counts calls of a patched function, from any thread."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls += 1
            return func(*args, **kwargs)

        return counted


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How many times argon2 verifies a password."""
    counter = Counter()
    monkeypatch.setattr(PasswordHasher, "verify", counter.wrap(PasswordHasher.verify))
    return counter


async def wrong_login(api: Api, email: str, address: str | None = None) -> int:
    headers = {"X-Forwarded-For": address} if address else None
    reply = await api.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": email, "password": "wrong password guess"},
        headers=headers,
    )
    return reply.status


async def login_from(api: Api, email: str, address: str) -> int:
    reply = await api.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": address},
    )
    return reply.status


async def test_50_parallel_wrong_logins_reach_argon2_at_most_the_limit(
    api: Api, password_checks: Counter
) -> None:
    user = await api.account("target@example.com")
    password_checks.calls = 0
    statuses = await asyncio.gather(*(wrong_login(api, user.email) for _ in range(PARALLEL)))
    assert password_checks.calls <= PER_ACCOUNT
    assert sorted(statuses) == [401] * PER_ACCOUNT + [429] * (PARALLEL - PER_ACCOUNT)


async def test_50_parallel_wrong_logins_over_many_accounts_stop_at_the_address_limit(
    api: Api, password_checks: Counter
) -> None:
    statuses = await asyncio.gather(
        *(wrong_login(api, f"spray{index}@example.com") for index in range(PARALLEL))
    )
    assert password_checks.calls <= PER_ADDRESS
    assert sorted(statuses) == [401] * PER_ADDRESS + [429] * (PARALLEL - PER_ADDRESS)


async def test_50_parallel_wrong_current_passwords_reach_argon2_at_most_the_limit(
    api: Api, password_checks: Counter
) -> None:
    user = await api.account("stolen-token@example.com")
    password_checks.calls = 0
    body = {"current_password": "guess guess guess", "new_password": "a brand new secret"}
    replies = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/auth/password", token=user.access, json_body=body)
            for _ in range(PARALLEL)
        )
    )
    assert password_checks.calls <= PER_ACCOUNT
    assert sorted(r.status for r in replies) == [401] * PER_ACCOUNT + [429] * (
        PARALLEL - PER_ACCOUNT
    )


async def test_50_parallel_pairing_guesses_reach_the_code_lookup_at_most_the_limit(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = Counter()
    original = device_store.claim_pairing_code

    async def counted(*args: Any) -> str | None:
        lookups.wrap(lambda: None)()
        return await original(*args)

    monkeypatch.setattr(device_store, "claim_pairing_code", counted)
    replies = await asyncio.gather(
        *(
            api.call(
                "POST",
                "/api/v1/devices/pair",
                json_body={"code": f"AAAA-{index:04d}", "device_id": "greennet-abcdef"},
            )
            for index in range(PARALLEL)
        )
    )
    assert lookups.calls <= PER_ADDRESS
    assert sorted(r.status for r in replies) == [401] * PER_ADDRESS + [429] * (
        PARALLEL - PER_ADDRESS
    )


async def test_an_attacker_cannot_lock_the_owner_out_from_another_network(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    owner = await api.account("owner@example.com")
    attacker = "203.0.113.5"
    assert [await wrong_login(api, owner.email, attacker) for _ in range(6)] == [401] * 5 + [429]
    assert (
        await login_from(api, owner.email, "198.51.100.7") == 200
    )  # the right password from the owner's network gets in
    # the attacker's network stays blocked for that account for the whole window
    assert await wrong_login(api, owner.email, attacker) == 429
    clock.advance(900 + 60)
    assert await wrong_login(api, owner.email, attacker) == 401


async def test_guesses_from_many_networks_slow_the_account_down_but_never_lock_it(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    owner = await api.account("popular@example.com")
    statuses = [await wrong_login(api, owner.email, f"203.0.113.{index}") for index in range(1, 12)]
    assert statuses == [401] * 11  # never a 429 for the account as a whole
    assert clock.slept == [1, 2, 4, 8, 16, 30]  # growing delays past five, capped
    clock.slept.clear()
    assert await login_from(api, owner.email, "198.51.100.7") == 200
    assert clock.slept == [30]  # the owner waited a turn, then got in
    clock.slept.clear()
    # the success cleared the account's failures: no more waiting
    assert await wrong_login(api, owner.email, "203.0.113.99") == 401
    assert clock.slept == []


async def test_parallel_guesses_from_many_networks_take_turns_on_one_account(
    make_api: ApiFactory,
    password_checks: Counter,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the account past its free attempts, a burst from a botnet is serialized: each
    guess waits its turn and the queue holds one delay's worth, the rest are told to retry."""
    # Time stands still until every guess has been queued or refused: a wait that moved the
    # shared clock at once would let a slow machine's late arrivals find the queue drained.
    gate = asyncio.Event()
    queued = 0

    async def held_sleep(seconds: float) -> None:
        nonlocal queued
        queued += 1
        await gate.wait()
        clock.advance(seconds)

    monkeypatch.setattr(clock, "sleep", held_sleep)
    api = await make_api(trusted_proxies=LOOPBACK)
    owner = await api.account("botnet-target@example.com")
    for index in range(PER_ACCOUNT):
        assert await wrong_login(api, owner.email, f"192.0.2.{index}") == 401
    password_checks.calls = 0
    guesses = [
        asyncio.create_task(wrong_login(api, owner.email, f"203.0.113.{index}"))
        for index in range(PARALLEL)
    ]
    async with asyncio.timeout(60):
        # two kinds of progress to watch (queued, answered): polling is simplest
        while queued + sum(guess.done() for guess in guesses) < PARALLEL:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    gate.set()
    statuses = await asyncio.gather(*guesses)
    assert 429 in statuses
    assert password_checks.calls == statuses.count(401) == queued < PARALLEL


async def test_a_totp_code_is_accepted_once_even_in_parallel(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(login_throttle=LoginThrottle(per_account=100, per_address=100))
    user = await api.account("totp-race@example.com")
    secret = (
        await api.call(
            "POST",
            "/api/v1/auth/totp",
            token=user.access,
            json_body={"current_password": user.password},
        )  # fmt: skip
    ).body["secret"]
    totp = pyotp.TOTP(secret)
    confirm = {"code": totp.at(clock.now), "current_password": user.password}
    confirmed = await api.call(
        "POST", "/api/v1/auth/totp/confirm", token=user.access, json_body=confirm
    )
    assert confirmed.status == 200
    clock.advance(30)
    code = totp.at(clock.now)
    replies = await asyncio.gather(*(api.login(user.email, totp=code) for _ in range(10)))
    assert sorted(r.status for r in replies) == [200] + [401] * 9
    assert {r.error for r in replies if r.status == 401} == {"invalid_totp"}


async def test_a_failed_login_never_scans_the_attempt_table(api: Api, database_url: str) -> None:
    """Every statement a request runs on the attempt log is bounded by its key index."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the query plan is checked with SQLite's EXPLAIN QUERY PLAN")
    engine = api.client.app[ENGINE] if api.client.app is not None else None
    assert engine is not None
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "login_failures" in statement and not statement.startswith("INSERT"):
            statements.append((statement, parameters))

    for index in range(3):  # some attempts of other keys in the table
        await wrong_login(api, f"other{index}@example.com")
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert await wrong_login(api, "victim@example.com") == 401
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert statements
    with sqlite3.connect(database_url.split("///", 1)[1]) as db:
        for statement, parameters in statements:
            plan = db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            details = [row[-1] for row in plan]
            assert not any(d.startswith("SCAN login_failures") for d in details), (
                statement,
                details,
            )
