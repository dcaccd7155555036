"""Per-address throttles count an IPv6 client by its network (/64 by default): failed logins,
registrations and pairing guesses from one /64 share one limit, IPv4 counts per address, an
IPv4-mapped IPv6 address counts as its IPv4 address, and the prefix length is a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from greennet_cloud import Config, create_app
from greennet_cloud.config import RegistrationThrottle, config_from_env
from greennet_cloud.services.throttle import client_network

from .api import Api
from .conftest import LOOPBACK, ApiFactory
from .test_registration_throttling import register
from .test_throttling import fail

PER_ADDRESS = 20  # failed logins and pairing guesses per window (the default)
REGISTRATIONS = 5  # registrations per window (the default)


@pytest.mark.parametrize(
    ("address", "prefix", "counted_as"),
    [
        ("198.51.100.7", 64, "198.51.100.7"),
        ("2001:db8:1:2::5", 64, "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2::5", 128, "2001:db8:1:2::5/128"),
        ("2001:db8:1:2::5", 48, "2001:db8:1::/48"),
        ("::ffff:198.51.100.7", 64, "198.51.100.7"),
        ("::ffff:c633:6407", 128, "198.51.100.7"),
        ("fe80::1%eth0", 64, "fe80::/64"),
        ("unknown", 64, "unknown"),
        ("[2001:db8::1]:443", 64, "[2001:db8::1]:443"),
    ],
)
def test_client_network(address: str, prefix: int, counted_as: str) -> None:
    assert client_network(address, prefix) == counted_as


async def guess_pairing_codes(api: Api, address: str, times: int) -> list[int]:
    return [
        (
            await api.call(
                "POST",
                "/api/v1/devices/pair",
                json_body={"code": f"AAAA-AA{index:02d}", "device_id": "greennet-abcdef"},
                headers={"X-Forwarded-For": address},
            )
        ).status
        for index in range(times)
    ]


async def test_failed_logins_from_one_ipv6_64_share_a_limit(make_api: ApiFactory) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    statuses: list[int] = []
    for index in range(PER_ADDRESS):
        statuses += await fail(api, f"spray{index}@example.com", 1, f"2001:db8:1:2::{index + 1:x}")
    assert statuses == [401] * PER_ADDRESS
    assert await fail(api, "next@example.com", 1, "2001:db8:1:2:abcd::1") == [429]
    assert await fail(api, "next@example.com", 1, "2001:db8:1:3::1") == [401]


async def test_registrations_from_one_ipv6_64_share_a_limit(make_api: ApiFactory) -> None:
    api = await make_api(registration_throttle=RegistrationThrottle(), trusted_proxies=LOOPBACK)
    statuses = [
        await register(api, f"host{index}@example.com", f"2001:db8:1:2::{index + 1:x}")
        for index in range(REGISTRATIONS + 1)
    ]
    assert statuses == [201] * REGISTRATIONS + [429]
    assert await register(api, "elsewhere@example.com", "2001:db8:1:3::1") == 201


async def test_pairing_guesses_from_one_ipv6_64_share_a_limit(make_api: ApiFactory) -> None:
    api = await make_api(trusted_proxies=LOOPBACK)
    assert await guess_pairing_codes(api, "2001:db8:1:2::1", PER_ADDRESS) == [401] * PER_ADDRESS
    assert await guess_pairing_codes(api, "2001:db8:1:2::ffff", 1) == [429]
    assert await guess_pairing_codes(api, "2001:db8:9:9::1", 1) == [401]


async def test_ipv4_addresses_still_count_alone(make_api: ApiFactory) -> None:
    api = await make_api(registration_throttle=RegistrationThrottle(), trusted_proxies=LOOPBACK)
    first = [await register(api, f"v4a{i}@example.com", "198.51.100.7") for i in range(6)]
    assert first == [201] * REGISTRATIONS + [429]
    assert await register(api, "v4b@example.com", "198.51.100.8") == 201


async def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(make_api: ApiFactory) -> None:
    api = await make_api(registration_throttle=RegistrationThrottle(), trusted_proxies=LOOPBACK)
    mapped = [await register(api, f"map{i}@example.com", "::ffff:198.51.100.7") for i in range(3)]
    plain = [await register(api, f"plain{i}@example.com", "198.51.100.7") for i in range(3)]
    assert mapped + plain == [201] * REGISTRATIONS + [429]
    assert await register(api, "other@example.com", "::ffff:198.51.100.8") == 201


async def test_a_forwarded_address_that_is_no_ip_is_a_400_and_counts_nothing(
    make_api: ApiFactory,
) -> None:
    api = await make_api(registration_throttle=RegistrationThrottle(), trusted_proxies=LOOPBACK)
    odd = [await register(api, f"odd{i}@example.com", "[2001:db8::1]:443") for i in range(6)]
    assert odd == [400] * 6
    assert await register(api, "fine@example.com", "2001:db8::1") == 201


async def test_a_prefix_of_128_counts_every_ipv6_address_alone(make_api: ApiFactory) -> None:
    api = await make_api(
        registration_throttle=RegistrationThrottle(),
        trusted_proxies=LOOPBACK,
        throttle_ipv6_prefix=128,
    )
    statuses = [
        await register(api, f"alone{index}@example.com", f"2001:db8:1:2::{index + 1:x}")
        for index in range(REGISTRATIONS + 1)
    ]
    assert statuses == [201] * (REGISTRATIONS + 1)


async def test_a_prefix_of_48_joins_neighbouring_64s(make_api: ApiFactory) -> None:
    api = await make_api(trusted_proxies=LOOPBACK, throttle_ipv6_prefix=48)
    assert await guess_pairing_codes(api, "2001:db8:1:2::1", PER_ADDRESS) == [401] * PER_ADDRESS
    assert await guess_pairing_codes(api, "2001:db8:1:ffff::1", 1) == [429]
    assert await guess_pairing_codes(api, "2001:db8:2::1", 1) == [401]


def test_the_prefix_defaults_to_64_and_comes_from_the_environment() -> None:
    assert Config().throttle_ipv6_prefix == 64
    assert config_from_env({}).throttle_ipv6_prefix == 64
    assert config_from_env({"GREENNET_THROTTLE_IPV6_PREFIX": "56"}).throttle_ipv6_prefix == 56


@pytest.mark.parametrize("bad", ["31", "129", "0", "-64"])
def test_a_prefix_out_of_range_is_refused_at_startup(bad: str, tmp_path: Path) -> None:
    config = config_from_env({"GREENNET_THROTTLE_IPV6_PREFIX": bad}, Config(data_dir=tmp_path))
    with pytest.raises(ValueError, match=f"GREENNET_THROTTLE_IPV6_PREFIX={bad} is not an IPv6"):
        create_app(config)
    assert not (tmp_path / "signing.key").exists()  # refused before anything was written


def test_a_prefix_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="GREENNET_THROTTLE_IPV6_PREFIX='/64' is not a valid int"):
        config_from_env({"GREENNET_THROTTLE_IPV6_PREFIX": "/64"})


@pytest.mark.parametrize("edge", [32, 128])
def test_the_prefix_range_ends_are_accepted(edge: int) -> None:
    assert Config(secret="s" * 40, throttle_ipv6_prefix=edge).resolve().throttle_ipv6_prefix == edge
