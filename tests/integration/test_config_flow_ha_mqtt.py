"""Choosing Home Assistant's MQTT connection as the transport, in every flow that offers it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from homeassistant.components import mqtt
from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    CONF_PREFIX,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)

from ..broker import Mosquitto
from .conftest import async_setup_ha_mqtt, entry_data, mqtt_entry, wait_until
from .test_config_flow import INFO, mqtt_info, start, submit, zeroconf_info

ON_HA_MQTT = {CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: "greennet"}


@pytest.fixture
async def ha_mqtt(
    hass: HomeAssistant, mosquitto: Mosquitto, mock_hass_config: None
) -> AsyncIterator[MockConfigEntry]:
    """HA's own MQTT integration, connected to the test broker."""
    config_entry = await async_setup_ha_mqtt(hass, mosquitto)
    yield config_entry
    await hass.config_entries.async_unload(config_entry.entry_id)


async def unload_all(hass: HomeAssistant) -> None:
    for config_entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_the_user_flow_offers_ha_mqtt_when_it_runs(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry
) -> None:
    result = await start(hass, SOURCE_USER)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["broker", "ha_mqtt"]  # own client first: the default

    result = await submit(hass, result["flow_id"], {"next_step_id": "ha_mqtt"})
    assert result["step_id"] == "ha_mqtt"
    assert [str(key) for key in result["data_schema"].schema] == [CONF_PREFIX]
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "bad/#"})
    assert result["errors"] == {"base": "invalid_prefix"}
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "greennet"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == ON_HA_MQTT
    assert result["result"].unique_id is None

    # The same broker and prefix once more, through either transport: refused.
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], {"next_step_id": "ha_mqtt"})
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "greennet"})
    assert result["reason"] == "already_configured"
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], {"next_step_id": "broker"})
    result = await submit(hass, result["flow_id"], entry_data(ha_mqtt_broker(ha_mqtt)))
    assert result["reason"] == "already_configured"
    await unload_all(hass)


def ha_mqtt_broker(config_entry: MockConfigEntry) -> Mosquitto:
    """The test broker behind HA's MQTT entry (host, port and credentials only)."""
    broker = Mosquitto.__new__(Mosquitto)
    broker.host, broker.port = config_entry.data["broker"], config_entry.data["port"]
    broker.username, broker.password = config_entry.data["username"], config_entry.data["password"]
    return broker


async def test_the_user_flow_keeps_its_own_client_on_the_broker_step(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], {"next_step_id": "broker"})
    assert result["step_id"] == "broker"
    result = await submit(hass, result["flow_id"], entry_data(mosquitto, prefix="other"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(mosquitto, prefix="other")
    await unload_all(hass)


async def test_ha_mqtt_that_lost_its_broker_is_not_offered_as_working(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry, mosquitto: Mosquitto
) -> None:
    await hass.async_add_executor_job(mosquitto.stop)
    await wait_until(hass, lambda: not mqtt.is_connected(hass))
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], {"next_step_id": "ha_mqtt"})
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "greennet"})
    assert result["errors"] == {"base": "mqtt_not_connected"}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_mqtt_discovery_offers_ha_mqtt_first(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry
) -> None:
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    assert result["step_id"] == "mqtt_confirm"
    (field,) = result["data_schema"].schema
    assert field.default() == TRANSPORT_HA_MQTT
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_HA_MQTT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == ON_HA_MQTT

    # Another plug on the same broker: already configured, whichever way it is announced.
    other = p.encode_info(replace(INFO, id="greennet-a1b2c4"))
    result = await start(hass, SOURCE_MQTT, mqtt_info(other, "greennet/greennet-a1b2c4/info"))
    assert result["reason"] == "already_configured"
    broker = ha_mqtt_broker(ha_mqtt)
    txt = {"broker": "localhost", "port": str(broker.port)}
    result = await start(hass, SOURCE_ZEROCONF, zeroconf_info(**txt))
    assert result["reason"] == "already_configured"
    await unload_all(hass)


async def test_mqtt_discovery_reports_an_ha_mqtt_not_running(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    mqtt_entry(mosquitto).add_to_hass(hass)  # configured, but not set up
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_HA_MQTT})
    assert result["errors"] == {"base": "mqtt_not_connected"}
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_AIOMQTT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(mosquitto)
    await unload_all(hass)


async def test_discovery_runs_one_flow_per_broker_and_remembers_ignore(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    txt = {"broker": "127.0.0.1", "port": str(mosquitto.port)}
    first = await start(hass, SOURCE_ZEROCONF, zeroconf_info(**txt))
    assert first["step_id"] == "discovery_confirm"
    second = await start(hass, SOURCE_ZEROCONF, zeroconf_info(**txt, id="greennet-a1b2c4"))
    assert second["reason"] == "already_in_progress"  # another plug, the same broker

    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": "ignore"},
        data={
            "unique_id": hass.config_entries.flow.async_get(first["flow_id"])["context"][
                "unique_id"
            ],
            "title": "ignored",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    again = await start(hass, SOURCE_ZEROCONF, zeroconf_info(**txt))
    assert again["reason"] == "already_configured"


async def test_reconfigure_of_an_ha_mqtt_entry_changes_its_prefix(
    hass: HomeAssistant, ha_mqtt: MockConfigEntry
) -> None:
    MockConfigEntry(
        domain=DOMAIN, data={CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: "taken"}
    ).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, data=ON_HA_MQTT, minor_version=2)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert [str(key) for key in result["data_schema"].schema] == [CONF_PREFIX]
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "bad/#"})
    assert result["errors"] == {"base": "invalid_prefix"}
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "taken"})
    assert result["reason"] == "already_configured"

    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result["flow_id"], {CONF_PREFIX: "home/plugs"})
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: "home/plugs"}
    assert entry.title == "GreenNet via Home Assistant MQTT (home/plugs)"
    await hass.async_block_till_done()
    await unload_all(hass)


async def test_an_ha_mqtt_entry_without_ha_mqtt_conflicts_with_nothing(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    # HA's MQTT integration was removed: its GreenNet entry names no broker any more.
    MockConfigEntry(domain=DOMAIN, data=ON_HA_MQTT).add_to_hass(hass)
    result = await start(hass, SOURCE_USER)
    assert result["step_id"] == "user"  # no HA MQTT: straight to the broker form
    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload_all(hass)
