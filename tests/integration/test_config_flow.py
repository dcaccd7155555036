"""Every path of the GreenNet config flow, against a real Mosquitto."""

from __future__ import annotations

import socket
from ipaddress import ip_address
from typing import Any

import pytest
from greennet_sim import Simulator
from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    CONF_PREFIX,
    CONF_TLS,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)

from ..broker import Mosquitto, free_port
from .conftest import entry_data, mqtt_entry, sim_config, state_of, wait_until

PLUG_ID = "greennet-a1b2c3"
INFO = p.PlugInfo(
    id=PLUG_ID,
    name="Kitchen",
    model="GreenNet Plug",
    sw_version="1.0.0",
    hw_version="1",
    mac="24:6F:28:A1:B2:C3",
    ip="192.0.2.7",
    protocol=1,
)


def zeroconf_info(**txt: Any) -> ZeroconfServiceInfo:
    """What HA's zeroconf integration hands over for a plug's `_greennet._tcp`."""
    return ZeroconfServiceInfo(
        ip_address=ip_address("192.0.2.7"),
        ip_addresses=[ip_address("192.0.2.7")],
        port=80,
        hostname=f"{PLUG_ID}.local.",
        type="_greennet._tcp.local.",
        name=f"{PLUG_ID}._greennet._tcp.local.",
        properties={"id": PLUG_ID, **txt},
    )


def mqtt_info(payload: str, topic: str = f"greennet/{PLUG_ID}/info") -> MqttServiceInfo:
    """What HA's MQTT integration hands over when it sees `greennet/+/info`."""
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=1,
        retain=True,
        subscribed_topic="greennet/+/info",
        timestamp=0.0,
    )


async def start(hass: HomeAssistant, source: str, data: Any = None) -> Any:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": source}, data=data)


async def submit(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> Any:
    return await hass.config_entries.flow.async_configure(flow_id, user_input)


# --- user -------------------------------------------------------------------


async def test_user_flow_connects_before_creating_the_entry(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    result = await start(hass, SOURCE_USER)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "GreenNet 127.0.0.1"
    assert result["data"] == entry_data(mosquitto)
    assert result["result"].unique_id is None  # an address is no identity (brokers.py)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({CONF_PASSWORD: "wrong"}, "invalid_auth"),
        ({CONF_USERNAME: "", CONF_PASSWORD: ""}, "invalid_auth"),
        ({CONF_PORT: 0}, None),  # replaced by a closed port below
        ({CONF_PREFIX: "bad/#"}, "invalid_prefix"),
        ({CONF_TLS: True}, "cannot_connect"),  # the test broker speaks no TLS
    ],
)
async def test_user_flow_reports_errors_and_recovers(
    hass: HomeAssistant, mosquitto: Mosquitto, overrides: dict[str, Any], error: str | None
) -> None:
    if overrides.get(CONF_PORT) == 0:
        overrides, error = {CONF_PORT: free_port()}, "cannot_connect"
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], entry_data(mosquitto, **overrides))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("configured_as", ["127.0.0.1", "localhost", "LOCALHOST."])
async def test_user_flow_aborts_for_a_broker_already_configured(
    hass: HomeAssistant, mosquitto: Mosquitto, configured_as: str
) -> None:
    # The same broker under another name is the same broker.
    configured = entry_data(mosquitto, **{CONF_HOST: configured_as})
    MockConfigEntry(domain=DOMAIN, data=configured).add_to_hass(hass)
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], entry_data(mosquitto))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_the_same_broker_with_another_prefix_is_another_entry(
    hass: HomeAssistant, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Name resolution is real for local names; a name no DNS knows fails as it would at home
    # (newer test harnesses refuse every non-local lookup, so it is simulated here).
    resolve = hass.loop.getaddrinfo

    async def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return await resolve(host, *args, **kwargs)

    monkeypatch.setattr(hass.loop, "getaddrinfo", getaddrinfo)
    MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto)).add_to_hass(hass)
    # An ignored discovery and a broker whose name does not resolve are no conflict either.
    MockConfigEntry(domain=DOMAIN, source="ignore", unique_id="x").add_to_hass(hass)
    unresolvable = entry_data(mosquitto, **{CONF_HOST: "broker.invalid", CONF_PREFIX: "other"})
    MockConfigEntry(domain=DOMAIN, data=unresolvable).add_to_hass(hass)
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], entry_data(mosquitto, prefix="other"))
    assert result["type"] is FlowResultType.CREATE_ENTRY


# --- zeroconf ---------------------------------------------------------------


async def test_zeroconf_asks_only_for_the_missing_credentials(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    result = await start(
        hass,
        SOURCE_ZEROCONF,
        zeroconf_info(broker="127.0.0.1", port=str(mosquitto.port), prefix="greennet"),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["data_schema"].schema == {}  # nothing to ask yet: just confirm

    # The broker wants credentials: now (and only now) the form asks for them.
    result = await submit(hass, result["flow_id"], {})
    assert result["errors"] == {"base": "invalid_auth"}
    assert {str(key) for key in result["data_schema"].schema} == {CONF_USERNAME, CONF_PASSWORD}

    result = await submit(
        hass,
        result["flow_id"],
        {CONF_USERNAME: mosquitto.username, CONF_PASSWORD: mosquitto.password},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(mosquitto)


@pytest.mark.parametrize(
    "txt",
    [
        {},  # no broker
        {"broker": "127.0.0.1", "port": "not-a-port"},
        {"broker": "127.0.0.1", "port": "99999"},
        {"broker": "127.0.0.1", "prefix": "bad/#"},
    ],
)
async def test_zeroconf_with_unusable_txt_aborts(hass: HomeAssistant, txt: dict[str, str]) -> None:
    result = await start(hass, SOURCE_ZEROCONF, zeroconf_info(**txt))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_zeroconf_with_bad_plug_id_aborts(hass: HomeAssistant) -> None:
    info = zeroconf_info(broker="127.0.0.1")
    info.properties["id"] = "not-a-plug"
    result = await start(hass, SOURCE_ZEROCONF, info)
    assert result["reason"] == "invalid_discovery_info"


async def test_zeroconf_for_a_configured_broker_aborts(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto)).add_to_hass(hass)
    result = await start(
        hass, SOURCE_ZEROCONF, zeroconf_info(broker="localhost", port=str(mosquitto.port))
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_confirm_reports_an_unreachable_broker(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    port = free_port()
    result = await start(hass, SOURCE_ZEROCONF, zeroconf_info(broker="127.0.0.1", port=str(port)))
    result = await submit(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["data_schema"].schema == {}  # still no reason to ask for credentials


# --- mqtt -------------------------------------------------------------------


async def test_mqtt_discovery_uses_the_broker_of_ha_mqtt(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    mqtt_entry(mosquitto).add_to_hass(hass)
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_confirm"
    assert result["description_placeholders"] == {
        "host": "127.0.0.1",
        "port": str(mosquitto.port),
    }

    # GreenNet's own client to that broker, with HA MQTT's credentials: nothing to ask.
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_AIOMQTT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(mosquitto)


async def test_mqtt_discovery_takes_the_prefix_from_the_topic(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    mqtt_entry(mosquitto).add_to_hass(hass)
    result = await start(
        hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO), topic=f"home/plugs/{PLUG_ID}/info")
    )
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_AIOMQTT})
    assert result["data"][CONF_PREFIX] == "home/plugs"


@pytest.mark.parametrize(
    ("payload", "topic"),
    [
        ("", f"greennet/{PLUG_ID}/info"),  # a cleared retained message
        ("{not json", f"greennet/{PLUG_ID}/info"),
        (p.encode_info(INFO), "greennet/greennet-ffffff/info"),  # id differs from the topic
        (p.encode_info(INFO), "greennet/not-a-plug/info"),
    ],
)
async def test_mqtt_discovery_with_invalid_info_aborts(
    hass: HomeAssistant, mosquitto: Mosquitto, payload: str, topic: str
) -> None:
    mqtt_entry(mosquitto).add_to_hass(hass)
    result = await start(hass, SOURCE_MQTT, mqtt_info(payload, topic))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_mqtt_discovery_without_ha_mqtt_broker_aborts(hass: HomeAssistant) -> None:
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


# --- reauth and reconfigure -------------------------------------------------


async def test_rejected_credentials_start_reauth_which_fixes_them(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"127.0.0.1:{mosquitto.port}",
        data=entry_data(mosquitto, **{CONF_PASSWORD: "old"}),
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    result = await submit(hass, flows[0]["flow_id"], {CONF_USERNAME: "greennet"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await submit(
        hass, flows[0]["flow_id"], {CONF_USERNAME: "greennet", CONF_PASSWORD: mosquitto.password}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSWORD] == mosquitto.password
    assert entry.state.name == "LOADED"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_changes_the_broker_settings(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, data=entry_data(mosquitto), unique_id=f"127.0.0.1:{mosquitto.port}"
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    closed = free_port()
    result = await submit(hass, result["flow_id"], entry_data(mosquitto, **{CONF_PORT: closed}))
    assert result["errors"] == {"base": "cannot_connect"}

    result = await submit(hass, result["flow_id"], entry_data(mosquitto, prefix="home/plugs"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PREFIX] == "home/plugs"
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert entry.unique_id is None  # the address-based id of older versions is dropped
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_onto_another_entrys_broker_aborts(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    other = entry_data(mosquitto, **{CONF_HOST: "192.0.2.1", CONF_PORT: 1883})
    MockConfigEntry(domain=DOMAIN, data=other).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(mosquitto))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result["flow_id"], entry_data(mosquitto, **{CONF_HOST: "192.0.2.1", CONF_PORT: 1883})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_ha_mqtt_integration_discovers_a_live_plug_end_to_end(
    hass: HomeAssistant, mosquitto: Mosquitto, mock_hass_config: None
) -> None:
    # HA's own MQTT integration on the real broker sees the plug's retained info.
    mqtt = mqtt_entry(mosquitto)
    mqtt.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt.entry_id)
    async with Simulator(sim_config(mosquitto, count=1)) as sim:
        await sim.wait_online()
        await wait_until(
            hass, lambda: bool(hass.config_entries.flow.async_progress_by_handler(DOMAIN)), 10
        )
        (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert flow["context"]["source"] == SOURCE_MQTT
        assert flow["context"]["title_placeholders"]["name"] == sim.plugs[0].id

        # HA's MQTT connection is offered first: confirming takes it.
        result = await submit(hass, flow["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: "greennet"}
        assert result["title"] == "GreenNet via Home Assistant MQTT"
        await wait_until(hass, lambda: state_of(hass, "switch", sim.plugs[0].id, "relay") == "on")
        await hass.config_entries.async_unload(result["result"].entry_id)
    await hass.config_entries.async_unload(mqtt.entry_id)
