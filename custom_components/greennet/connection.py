"""From config entry data to a transport: broker settings, the transport choice, checks."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util.ssl import get_default_context

from . import const
from .aiomqtt_transport import AiomqttTransport
from .const import CONF_CA_CERT, CONF_TLS, CONF_TRANSPORT, TRANSPORT_AIOMQTT, TRANSPORT_HA_MQTT
from .transport import BrokerSettings, Transport, ca_context

if TYPE_CHECKING:
    from .hub import GreenNetHub


def transport_of(data: Mapping[str, Any]) -> str:
    """The transport an entry uses; entries from before the choice use their own client."""
    return str(data.get(CONF_TRANSPORT, TRANSPORT_AIOMQTT))


async def async_broker_settings(hass: HomeAssistant, data: Mapping[str, Any]) -> BrokerSettings:
    """Broker settings from config entry data (or config flow input).

    Raises InvalidCaCertificate when the stored CA text is not a certificate.
    """
    tls = bool(data.get(CONF_TLS, False))
    context: ssl.SSLContext | None = None
    if tls and (ca_pem := data.get(CONF_CA_CERT)):
        # Creating a context reads OpenSSL's configuration from disk: not in the event loop.
        context = await hass.async_add_executor_job(ca_context, ca_pem)
    elif tls:
        context = get_default_context()  # HA's shared context, built at startup
    return BrokerSettings(
        host=data[CONF_HOST],
        port=int(data[CONF_PORT]),
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        tls=tls,
        tls_context=context,
    )


async def async_create_transport(
    hass: HomeAssistant, data: Mapping[str, Any], hub: GreenNetHub
) -> Transport:
    """The transport the entry chose, wired to the hub (nothing is connected yet)."""
    if transport_of(data) == TRANSPORT_HA_MQTT:
        # Imported only here: installations without HA's MQTT never load it.
        from .ha_mqtt_transport import HaMqttTransport

        return HaMqttTransport(hass, hub.on_message, hub.on_connection)
    # Backoff and timeout read at setup time so tests can shorten them.
    return AiomqttTransport(
        await async_broker_settings(hass, data),
        hub.on_message,
        hub.on_connection,
        hub.on_auth_failed,
        backoff=(const.BACKOFF_INITIAL, const.BACKOFF_MAX),
        timeout=const.CONNECT_TIMEOUT,
    )
