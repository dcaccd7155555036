"""Which broker a flow reaches, beside entries that make that question hard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet.const import CONF_PREFIX, DOMAIN

from ..broker import Mosquitto
from .conftest import async_setup_ha_mqtt, entry_data
from .test_config_flow import start, submit


@pytest.fixture
async def ha_mqtt(
    hass: HomeAssistant, mosquitto: Mosquitto, mock_hass_config: None
) -> AsyncIterator[MockConfigEntry]:
    """HA's own MQTT integration, connected to the test broker."""
    config_entry = await async_setup_ha_mqtt(hass, mosquitto)
    yield config_entry
    if hass.config_entries.async_get_entry(config_entry.entry_id) is not None:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_a_configured_broker_is_recognised_among_entries_on_the_same_port(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    # Another broker on the same port and prefix comes first; the second entry is this
    # broker under its other name.
    elsewhere = entry_data(mosquitto, **{CONF_HOST: "127.0.0.2"})
    MockConfigEntry(domain=DOMAIN, data=elsewhere).add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto, host="localhost")).add_to_hass(hass)
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_flow_works_beside_an_entry_of_a_newer_version_it_cannot_read(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    # After a downgrade: the newer integration stored its broker in a shape unknown here.
    newer = {"broker_url": "mqtts://broker.example:8883", CONF_PREFIX: "greennet"}
    MockConfigEntry(domain=DOMAIN, data=newer, version=2).add_to_hass(hass)
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(mosquitto)


async def test_choosing_ha_mqtt_after_it_was_removed_is_refused_with_a_reason(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry
) -> None:
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], {"next_step_id": "ha_mqtt"})
    assert result["step_id"] == "ha_mqtt"
    # Meanwhile, in another tab, the user removes HA's MQTT integration.
    assert await hass.config_entries.async_remove(ha_mqtt.entry_id)
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "greennet"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "mqtt_not_connected"}
    assert hass.config_entries.async_entries(DOMAIN) == []
