"""X-Forwarded-For is believed only from GREENNET_TRUSTED_PROXIES (issue #14 finding 9):
from any other peer it is ignored, behind a chain of trusted proxies the client is the
rightmost address that is not one of them, and the old hop count is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from greennet_cloud import Config, create_app
from greennet_cloud.config import config_from_env

from .api import Api
from .conftest import LOOPBACK, ApiFactory
from .test_throttling import fail

PER_ADDRESS = 20


async def spray(api: Api, forwarded_for: str, count: int, prefix: str = "spray") -> list[int]:
    statuses: list[int] = []
    for index in range(count):
        statuses += await fail(api, f"{prefix}{index}@example.com", 1, forwarded_for)
    return statuses


async def test_forwarded_for_from_a_peer_that_is_no_trusted_proxy_is_ignored(
    make_api: ApiFactory,
) -> None:
    """A client talking to us directly cannot pick a fresh address per request."""
    api = await make_api(trusted_proxies=("10.0.0.0/8", "2001:db8::/32"))
    statuses: list[int] = []
    for index in range(PER_ADDRESS + 1):
        statuses += await fail(api, f"direct{index}@example.com", 1, f"198.51.100.{index}")
    assert statuses == [401] * PER_ADDRESS + [429]


async def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(
    make_api: ApiFactory,
) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    assert await spray(api, "198.51.100.7", PER_ADDRESS + 1) == [401] * PER_ADDRESS + [429]
    assert await fail(api, "other@example.com", 1, "198.51.100.8") == [401]


async def test_a_client_cannot_prepend_its_own_address_through_the_proxy(
    make_api: ApiFactory,
) -> None:
    """The proxy appends the real client; whatever the client wrote to its left is ignored."""
    api = await make_api(trusted_proxies=LOOPBACK)
    statuses: list[int] = []
    for index in range(PER_ADDRESS + 1):
        forged = f"203.0.113.{index}, 198.51.100.7"
        statuses += await fail(api, f"forger{index}@example.com", 1, forged)
    assert statuses == [401] * PER_ADDRESS + [429]


async def test_a_chain_of_trusted_proxies_is_walked_to_the_client(make_api: ApiFactory) -> None:
    api = await make_api(trusted_proxies=(*LOOPBACK, "10.0.0.0/8"))
    chained = await spray(api, "198.51.100.7, 10.1.2.3, 10.9.9.9", PER_ADDRESS + 1)
    assert chained == [401] * PER_ADDRESS + [429]
    # the same client through another proxy of ours shares its limit
    assert await fail(api, "again@example.com", 1, "198.51.100.7, 10.4.4.4") == [429]
    assert await fail(api, "someone@example.com", 1, "198.51.100.9, 10.4.4.4") == [401]


async def test_a_malformed_header_from_a_trusted_proxy_is_a_400_in_the_error_shape(
    make_api: ApiFactory,
) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    reply = await api.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": "a@example.com", "password": "whatever it is"},
        headers={"X-Forwarded-For": "not-an-address"},
    )
    assert reply.status == 400
    assert reply.error == "bad_request"


def test_trusted_proxies_come_from_the_environment() -> None:
    config = config_from_env({"GREENNET_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,2001:db8::/32"})
    assert config.trusted_proxies == ("10.0.0.0/8", "192.0.2.1", "2001:db8::/32")
    assert Config().trusted_proxies == ()


def test_the_old_hop_count_is_refused_with_a_pointer_to_the_new_setting() -> None:
    with pytest.raises(ValueError, match="GREENNET_TRUSTED_PROXIES"):
        config_from_env({"GREENNET_PROXY_HOPS": "1"})


def test_a_proxy_that_is_no_address_stops_startup(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, secret="s" * 40, trusted_proxies=("proxy.internal",))
    with pytest.raises(ValueError, match="'proxy.internal' is not an IP address or network"):
        create_app(config)
