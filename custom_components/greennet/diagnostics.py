"""Diagnostics for GreenNet: the entry (secrets redacted) and what the hub knows."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .cloud import hub_device_identifier
from .cloud.const import CONF_LINK_TOKEN
from .const import CONF_CA_CERT, DOMAIN
from .hub import GreenNetConfigEntry
from .models import PlugState

# A CA is public, but a private CA's names identify the household: show only that one is set.
TO_REDACT = {CONF_CA_CERT, CONF_PASSWORD, CONF_USERNAME, CONF_LINK_TOKEN}


def _plug(plug: PlugState) -> dict[str, Any]:
    return {
        "online": plug.online,
        "supported": plug.supported,
        "info": asdict(plug.info) if plug.info else None,
        "telemetry": asdict(plug.telemetry) if plug.telemetry else None,
        "relay": plug.relay,
        "protection": asdict(plug.protection) if plug.protection else None,
        "config": asdict(plug.config) if plug.config else None,
        "last_event": asdict(plug.last_event) if plug.last_event else None,
        "energy": plug.energy,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GreenNetConfigEntry
) -> dict[str, Any]:
    """Entry settings and the state of every plug."""
    hub = entry.runtime_data
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "connected": hub.connected,
        "cloud_link": hub.cloud_link.diagnostics() if hub.cloud_link else None,
        "plugs": {plug_id: _plug(plug) for plug_id, plug in hub.plugs.items()},
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: GreenNetConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """The state of one plug, or the cloud link for the hub's own device."""
    hub = entry.runtime_data
    if hub_device_identifier(entry) in device.identifiers:
        return {"cloud_link": hub.cloud_link.diagnostics() if hub.cloud_link else None}
    return {
        "connected": hub.connected,
        "plugs": {
            ident: _plug(hub.plugs[ident])
            for domain, ident in device.identifiers
            if domain == DOMAIN and ident in hub.plugs
        },
    }
