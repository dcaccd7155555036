"""Passwords from a real breach corpus are refused (issue #14 finding 10, ASVS 5.0 6.2.4:
at least the top 3,000), and the OpenAPI document says so."""

from __future__ import annotations

import pytest
from greennet_cloud.errors import InvalidInput
from greennet_cloud.security.common_passwords import COMMON_PASSWORDS, POLICY_RELEVANT
from greennet_cloud.security.passwords import check_password_policy
from greennet_cloud.web.keys import OPENAPI

from .api import Api


def test_the_list_holds_far_more_than_the_top_3000() -> None:
    assert len(COMMON_PASSWORDS) >= 30_000
    assert len(POLICY_RELEVANT) >= 3_000  # long enough to pass the length rules


@pytest.mark.parametrize(
    "password", ["corvette", "steelers", "mercedes", "Maverick", "midnight", "bigdaddy"]
)
async def test_breached_passwords_are_refused_at_registration(api: Api, password: str) -> None:
    reply = await api.register("breached@example.com", password)
    assert (reply.status, reply.error) == (400, "weak_password")


def test_product_words_are_refused_too() -> None:
    for password in ("greennet2026", "HomeAssistant123"):
        with pytest.raises(InvalidInput, match="too common"):
            check_password_policy(password)


async def test_the_document_describes_the_refused_passwords_once(api: Api) -> None:
    app = api.client.app
    assert app is not None
    schemas = app[OPENAPI]["components"]["schemas"]
    assert "greennet123" in schemas["Password"]["not"]["enum"]
    assert f"{len(POLICY_RELEVANT)} common or breached" in schemas["Password"]["description"]
    assert schemas["Credentials"]["properties"]["password"] == {
        "$ref": "#/components/schemas/Password"
    }
