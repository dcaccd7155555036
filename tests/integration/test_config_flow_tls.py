"""The config flow with a TLS broker whose certificate a private CA signed (real Mosquitto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.greennet import protocol as p
from custom_components.greennet.const import (
    CONF_CA_CERT,
    CONF_TLS,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_AIOMQTT,
)

from ..broker import Mosquitto
from ..tls import Authority, issue_server_certificate, make_authority
from .conftest import entry_data, tls_entry, tls_entry_data
from .test_config_flow import INFO, mqtt_info, start, submit

OTHER_CA = make_authority("Someone Else's CA")


def fields(result: Any) -> set[str]:
    """Names of the fields a form shows."""
    return {str(key) for key in result["data_schema"].schema}


async def tls_form(hass: HomeAssistant, broker: Mosquitto) -> Any:
    """The user form after trying TLS with the system's CAs: it now offers the CA field."""
    result = await start(hass, SOURCE_USER)
    result = await submit(hass, result["flow_id"], tls_entry_data(broker, None))
    assert result["errors"] == {"base": "tls_verification_failed"}
    return result


async def test_user_flow_asks_for_the_ca_when_the_certificate_is_not_trusted(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority
) -> None:
    result = await start(hass, SOURCE_USER)
    assert CONF_CA_CERT not in fields(result)  # TLS is off by default: no CA field yet

    # System CAs only: the private CA is unknown, and the form says it is the certificate.
    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, None))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "tls_verification_failed"}
    assert CONF_CA_CERT in fields(result)

    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, home_ca))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == tls_entry_data(tls_mosquitto, home_ca)
    assert result["data"][CONF_CA_CERT].startswith("-----BEGIN CERTIFICATE-----")


async def test_user_flow_rejects_a_ca_that_did_not_sign_the_broker(
    hass: HomeAssistant, tls_mosquitto: Mosquitto
) -> None:
    result = await tls_form(hass, tls_mosquitto)
    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, OTHER_CA))
    assert result["errors"] == {"base": "tls_verification_failed"}
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_user_flow_verifies_the_broker_host_name(
    hass: HomeAssistant, home_ca: Authority, tmp_path: Path, socket_enabled: None
) -> None:
    # Signed by the right CA, but for another host: hostname verification stays on.
    with Mosquitto(tls=issue_server_certificate(home_ca, tmp_path, ("broker.example",))) as broker:
        result = await tls_form(hass, broker)
        result = await submit(hass, result["flow_id"], tls_entry_data(broker, home_ca))
    assert result["errors"] == {"base": "tls_verification_failed"}


@pytest.mark.parametrize(
    "ca_text",
    [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----\nzertifikät\n-----END CERTIFICATE-----",  # not ASCII
        OTHER_CA.pem[: len(OTHER_CA.pem) // 2],  # cut off while pasting
    ],
    # stable ids: the cut-off CA is generated per run, and xdist workers must agree
    ids=["plain text", "bad body", "not ascii", "cut off"],
)
async def test_user_flow_rejects_text_that_is_not_a_certificate(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority, ca_text: str
) -> None:
    result = await tls_form(hass, tls_mosquitto)
    data = tls_entry_data(tls_mosquitto, None, **{CONF_CA_CERT: ca_text})
    result = await submit(hass, result["flow_id"], data)
    assert result["errors"] == {"base": "invalid_ca_certificate"}
    assert CONF_CA_CERT in fields(result)

    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, home_ca))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_drops_the_ca_when_tls_is_off(
    hass: HomeAssistant, tls_mosquitto: Mosquitto
) -> None:
    result = await tls_form(hass, tls_mosquitto)  # the CA field shows; then TLS goes off
    data = entry_data(tls_mosquitto, **{CONF_CA_CERT: "ignored without TLS"})
    result = await submit(hass, result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(tls_mosquitto)


# --- reconfigure, reauth ----------------------------------------------------


@pytest.mark.parametrize("stored", [None, OTHER_CA], ids=["add", "replace"])
async def test_reconfigure_adds_or_replaces_the_ca(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority, stored: Authority | None
) -> None:
    entry = tls_entry(tls_mosquitto, stored)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)  # certificate not trusted

    result = await entry.start_reconfigure_flow(hass)
    assert CONF_CA_CERT in fields(result)  # TLS is on: the CA can be pasted right away
    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, stored))
    assert result["errors"] == {"base": "tls_verification_failed"}

    result = await submit(hass, result["flow_id"], tls_entry_data(tls_mosquitto, home_ca))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_CA_CERT] == home_ca.pem
    assert entry.state.name == "LOADED"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_plain_mqtt_forgets_the_ca(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority
) -> None:
    entry = tls_entry(tls_mosquitto, home_ca)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    plain = entry_data(tls_mosquitto, **{CONF_CA_CERT: home_ca.pem})
    result = await submit(hass, result["flow_id"], plain)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(entry.data) == entry_data(tls_mosquitto)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_keeps_the_ca(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority
) -> None:
    entry = tls_entry(tls_mosquitto, home_ca, **{CONF_PASSWORD: "old"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"  # TLS worked: the password was refused

    new = {"username": tls_mosquitto.username, CONF_PASSWORD: tls_mosquitto.password}
    result = await submit(hass, flow["flow_id"], new)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert dict(entry.data) == tls_entry_data(tls_mosquitto, home_ca)
    assert entry.state.name == "LOADED"
    await hass.config_entries.async_unload(entry.entry_id)


# --- discovery through HA's MQTT integration ---------------------------------


def mqtt_entry(broker: Mosquitto, certificate: str) -> MockConfigEntry:
    """HA's MQTT integration on the TLS listener; `certificate` is its PEM or "auto"."""
    data = {"broker": broker.host, "port": broker.tls_port, "certificate": certificate}
    return MockConfigEntry(
        domain="mqtt",
        data=data | {"username": broker.username, "password": broker.password},
    )


async def test_mqtt_discovery_takes_the_ca_of_ha_mqtt(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority
) -> None:
    mqtt_entry(tls_mosquitto, home_ca.pem).add_to_hass(hass)
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    assert fields(result) == {CONF_TRANSPORT}  # nothing to ask but the connection

    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_AIOMQTT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == tls_entry_data(tls_mosquitto, home_ca)
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_mqtt_discovery_with_system_cas_asks_for_the_ca(
    hass: HomeAssistant, tls_mosquitto: Mosquitto, home_ca: Authority
) -> None:
    mqtt_entry(tls_mosquitto, "auto").add_to_hass(hass)
    result = await start(hass, SOURCE_MQTT, mqtt_info(p.encode_info(INFO)))
    result = await submit(hass, result["flow_id"], {CONF_TRANSPORT: TRANSPORT_AIOMQTT})
    assert result["errors"] == {"base": "tls_verification_failed"}
    assert fields(result) == {CONF_CA_CERT}

    result = await submit(hass, result["flow_id"], {CONF_CA_CERT: OTHER_CA.pem})
    assert result["errors"] == {"base": "tls_verification_failed"}
    result = await submit(hass, result["flow_id"], {CONF_CA_CERT: home_ca.pem})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CA_CERT] == home_ca.pem
    assert result["data"][CONF_TLS] is True
    assert result["data"][CONF_PORT] == tls_mosquitto.tls_port
    await hass.config_entries.async_unload(result["result"].entry_id)
