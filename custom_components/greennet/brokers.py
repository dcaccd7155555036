"""Which broker an entry or a flow talks to, and whether two talk to the same one.

A broker has no identity of its own that MQTT would tell us, and an address is no
unique id (core guidance). So entries carry no unique id; a new one is refused when an
existing entry reaches the same broker: same port and topic prefix, and a host name
that resolves to an address the other one does (`localhost` and `127.0.0.1` are one
broker). An entry on HA's MQTT integration reaches the broker that integration uses.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant

from . import protocol as p
from .connection import transport_of
from .const import CONF_CA_CERT, CONF_PREFIX, CONF_TLS, DEFAULT_PORT, TRANSPORT_HA_MQTT

MQTT_DOMAIN = "mqtt"
# Host names that do not resolve within this time are compared by name only.
RESOLVE_TIMEOUT = 3.0


def ha_mqtt_broker(hass: HomeAssistant) -> Mapping[str, Any] | None:
    """The data of HA's MQTT entry (broker, port, credentials, certificate), if any."""
    entries = hass.config_entries.async_entries(MQTT_DOMAIN, include_ignore=False)
    return entries[0].data if entries else None


def ha_mqtt_loaded(hass: HomeAssistant) -> bool:
    """Whether HA's MQTT integration is set up (its transport can be offered)."""
    return bool(hass.config_entries.async_loaded_entries(MQTT_DOMAIN))


def data_from_ha_mqtt(broker: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Own-client entry data for the broker HA's MQTT integration uses."""
    data = {
        CONF_HOST: broker["broker"],
        CONF_PORT: int(broker.get("port", DEFAULT_PORT)),
        CONF_USERNAME: broker.get("username"),
        CONF_PASSWORD: broker.get("password"),
        CONF_TLS: broker.get("certificate") is not None,
        CONF_PREFIX: prefix,
        # HA's MQTT integration stores an uploaded CA as PEM text, or "auto" for system CAs.
        CONF_CA_CERT: None if broker.get("certificate") == "auto" else broker.get("certificate"),
    }
    return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """Where an entry's messages come from: host, port and topic prefix."""

    host: str
    port: int
    prefix: str

    @classmethod
    def of(cls, hass: HomeAssistant, data: Mapping[str, Any]) -> BrokerEndpoint | None:
        """The endpoint of entry data; None when it names none (HA's MQTT not configured)."""
        prefix = str(data.get(CONF_PREFIX, p.DEFAULT_PREFIX))
        if transport_of(data) == TRANSPORT_HA_MQTT:
            broker = ha_mqtt_broker(hass)
            if broker is None:
                return None
            return cls(str(broker["broker"]), int(broker.get("port", DEFAULT_PORT)), prefix)
        if CONF_HOST not in data:  # an entry without broker data (never set up by a flow)
            return None
        return cls(str(data[CONF_HOST]), int(data[CONF_PORT]), prefix)


async def _async_addresses(hass: HomeAssistant, host: str) -> frozenset[str]:
    """The host name itself (lower case) and every address it resolves to."""
    name = host.strip().lower().rstrip(".")
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await hass.loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):  # does not resolve (now): its name is all we know
        return frozenset({name})
    return frozenset({name, *(str(info[4][0]) for info in infos)})


async def async_entry_on_same_broker(
    hass: HomeAssistant, data: Mapping[str, Any], entries: Iterable[ConfigEntry[Any]]
) -> ConfigEntry[Any] | None:
    """The first of `entries` that reaches the broker (and prefix) `data` describes."""
    wanted = BrokerEndpoint.of(hass, data)
    if wanted is None:
        return None
    addresses: frozenset[str] | None = None
    for entry in entries:
        other = BrokerEndpoint.of(hass, entry.data)
        if other is None or (other.port, other.prefix) != (wanted.port, wanted.prefix):
            continue
        if addresses is None:
            addresses = await _async_addresses(hass, wanted.host)
        if addresses & await _async_addresses(hass, other.host):
            return entry
    return None
