"""Registration throttling: five accounts per client address an hour (the default), 429 with
Retry-After, one address never blocks another, and the limit holds across processes."""

from __future__ import annotations

import asyncio

from greennet_cloud.config import RegistrationThrottle
from greennet_cloud.web.keys import OPENAPI

from .api import Api
from .conftest import LOOPBACK, ApiFactory, FakeClock

WINDOW = 3600
LIMIT = 5
DEFAULT = RegistrationThrottle()


async def register(api: Api, email: str, address: str | None = None, **body: str) -> int:
    headers = {"X-Forwarded-For": address} if address else None
    reply = await api.call(
        "POST",
        "/api/v1/auth/register",
        json_body={"email": email, "password": "correct horse battery staple", **body},
        headers=headers,
    )
    return reply.status


async def register_many(api: Api, prefix: str, count: int, address: str | None = None) -> list[int]:
    return [await register(api, f"{prefix}{index}@example.com", address) for index in range(count)]


def test_the_default_is_five_an_hour() -> None:
    assert (DEFAULT.per_address, DEFAULT.window_seconds) == (LIMIT, WINDOW)


async def test_the_sixth_registration_waits_until_the_first_leaves_the_window(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(registration_throttle=DEFAULT)
    assert await register_many(api, "member", LIMIT) == [201] * LIMIT
    blocked = await api.register("sixth@example.com")
    assert (blocked.status, blocked.error) == (429, "too_many_attempts")
    assert "registered from this address" in blocked.body["message"]
    assert int(blocked.headers["Retry-After"]) == WINDOW
    clock.advance(1800)
    again = await api.register("sixth@example.com")
    assert (again.status, int(again.headers["Retry-After"])) == (429, WINDOW - 1800)
    assert (await api.login("sixth@example.com")).status == 401  # refused means not created
    clock.advance(WINDOW - 1800 + 1)
    assert await register(api, "sixth@example.com") == 201
    assert await register_many(api, "later", LIMIT - 1) == [201] * (LIMIT - 1)
    assert await register(api, "one-too-many@example.com") == 429


async def test_hammering_during_a_block_does_not_extend_it(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    api = await make_api(registration_throttle=DEFAULT)
    await register_many(api, "burst", LIMIT)
    for round_ in range(10):
        clock.advance(300)
        assert await register_many(api, f"retry{round_}-", 3) == [429] * 3
    clock.advance(WINDOW - 3000 + 1)
    assert await register(api, "finally@example.com") == 201


async def test_failed_logins_do_not_wipe_the_longer_registration_window(
    make_api: ApiFactory, clock: FakeClock
) -> None:
    """Login failures prune their own 15-minute window, never the registrations' hour."""
    api = await make_api(registration_throttle=DEFAULT)
    await register_many(api, "household", LIMIT)
    clock.advance(1000)
    assert (await api.login("household0@example.com", "not the password")).status == 401
    assert await register(api, "still-blocked@example.com") == 429


async def test_one_blocked_address_does_not_block_another(make_api: ApiFactory) -> None:
    proxied = await make_api(registration_throttle=DEFAULT, trusted_proxies=LOOPBACK)
    assert await register_many(proxied, "a", LIMIT + 1, "198.51.100.7") == [201] * LIMIT + [429]
    assert await register_many(proxied, "b", LIMIT, "203.0.113.9") == [201] * LIMIT
    # the blocked address can still log in to the accounts it has
    assert (await proxied.login("a0@example.com")).status == 200


async def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(
    make_api: ApiFactory,
) -> None:
    api = await make_api(registration_throttle=DEFAULT)
    statuses = [
        await register(api, f"spoof{index}@example.com", f"10.0.0.{index}")
        for index in range(LIMIT + 1)
    ]
    assert statuses == [201] * LIMIT + [429]


async def test_taken_emails_count_and_rejected_input_does_not(make_api: ApiFactory) -> None:
    api = await make_api(registration_throttle=DEFAULT)
    assert await register(api, "taken@example.com") == 201
    weak = [await register(api, f"weak{i}@example.com", password="short") for i in range(10)]
    assert weak == [400] * 10
    probes = [await register(api, "taken@example.com") for _ in range(LIMIT)]
    assert probes == [409] * (LIMIT - 1) + [429]


async def test_the_limit_is_shared_by_processes_on_one_database(make_api: ApiFactory) -> None:
    """Two backend processes (two apps on one database), registrations racing on both."""
    first = await make_api(registration_throttle=DEFAULT)
    second = await make_api(registration_throttle=DEFAULT)
    assert await register_many(first, "early", 2) == [201, 201]
    apps = [first, second] * 4
    racing = await asyncio.gather(
        *(register(api, f"race{index}@example.com") for index, api in enumerate(apps))
    )
    assert sorted(racing) == [201] * (LIMIT - 2) + [429] * (len(apps) - (LIMIT - 2))


async def test_the_document_promises_429_with_retry_after_on_register(api: Api) -> None:
    app = api.client.app
    assert app is not None
    answer = app[OPENAPI]["paths"]["/api/v1/auth/register"]["post"]["responses"]["429"]
    assert answer["headers"]["Retry-After"]["required"] is True
