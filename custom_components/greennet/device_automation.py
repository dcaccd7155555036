"""Shared lookups for device triggers and conditions: a plug's entities by key."""

from __future__ import annotations

from typing import Final

import voluptuous as vol
from homeassistant.const import CONF_ABOVE, CONF_BELOW, CONF_TYPE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN

# Shared by triggers and conditions: a power threshold in W.
POWER_ABOVE: Final = "power_above"
POWER_BELOW: Final = "power_below"


def plug_entity_id(hass: HomeAssistant, device_id: str, platform: str, key: str) -> str | None:
    """Entity id of a GreenNet plug's entity (unique id `<plug id>_<key>`), if it exists."""
    device = dr.async_get(hass).async_get(device_id)
    # A device merged by MAC with another integration's carries their identifiers too.
    plug_id = next((i for d, i in device.identifiers if d == DOMAIN), None) if device else None
    if plug_id is None:  # the device was removed since the automation was set up
        return None
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{plug_id}_{key}")


def require_threshold(config: ConfigType) -> None:
    """A power trigger or condition must carry its threshold."""
    if config[CONF_TYPE] == POWER_ABOVE and CONF_ABOVE not in config:
        raise vol.Invalid("power_above needs 'above' (W)")
    if config[CONF_TYPE] == POWER_BELOW and CONF_BELOW not in config:
        raise vol.Invalid("power_below needs 'below' (W)")
