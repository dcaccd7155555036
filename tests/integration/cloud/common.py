"""Helpers of the cloud link tests (also used by tests/e2e)."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.cloud.const import (
    CONF_CLOUD,
    CONF_CLOUD_URL,
    CONF_HOME_ID,
    CONF_LINK_TOKEN,
)
from custom_components.greennet.const import CONF_PREFIX, CONF_TLS, DOMAIN

from ...broker import Mosquitto


def broker_data(mosquitto: Mosquitto) -> dict[str, object]:
    """Entry data for the test broker (not linked)."""
    return {
        CONF_HOST: mosquitto.host,
        CONF_PORT: mosquitto.port,
        CONF_USERNAME: mosquitto.username,
        CONF_PASSWORD: mosquitto.password,
        CONF_TLS: False,
        CONF_PREFIX: "greennet",
    }


def linked_entry(
    mosquitto: Mosquitto, url: str, home_id: str, token: str, entry_id: str | None = None
) -> MockConfigEntry:
    """An entry for the test broker, linked to `home_id` at `url` with `token`."""
    link = {CONF_CLOUD_URL: url, CONF_HOME_ID: home_id, CONF_LINK_TOKEN: token}
    return MockConfigEntry(
        domain=DOMAIN,
        title="GreenNet 127.0.0.1",
        unique_id=f"{mosquitto.host}:{mosquitto.port}",
        data={**broker_data(mosquitto), CONF_CLOUD: link},
        **({"entry_id": entry_id} if entry_id else {}),
    )
