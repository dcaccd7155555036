"""Shared lookups for device triggers and conditions: a plug's entities by key."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN


def plug_entity_id(hass: HomeAssistant, device_id: str, platform: str, key: str) -> str | None:
    """Entity id of a GreenNet plug's entity (unique id `<plug id>_<key>`), if it exists."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, plug_id in device.identifiers:
        if domain == DOMAIN:
            return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{plug_id}_{key}")
    return None
