"""Device triggers for GreenNet plugs: power thresholds, online/offline, trip, fault, button."""

from __future__ import annotations

from typing import Final

import voluptuous as vol
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.components.homeassistant.triggers import (
    numeric_state as numeric_state_trigger,
)
from homeassistant.const import (
    CONF_ABOVE,
    CONF_BELOW,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_FOR,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, EVENT_GREENNET, EVENT_TYPE_OFFLINE, EVENT_TYPE_ONLINE
from .device_automation import POWER_ABOVE, POWER_BELOW, plug_entity_id, require_threshold

CONF_EVENT_TYPE: Final = "event_type"  # the event trigger's key; HA does not export it
# trigger type -> greennet_event type fired by the hub
EVENT_TRIGGERS: Final = {
    "went_offline": EVENT_TYPE_OFFLINE,
    "came_online": EVENT_TYPE_ONLINE,
    "overload_tripped": "overload_trip",
    "sensor_fault": "sensor_fault",
    "button_pressed": "button",
}
TRIGGER_TYPES: Final = (POWER_ABOVE, POWER_BELOW, *EVENT_TRIGGERS)

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES),
        vol.Optional(CONF_ABOVE): vol.Coerce(float),
        vol.Optional(CONF_BELOW): vol.Coerce(float),
        vol.Optional(CONF_FOR): cv.positive_time_period_dict,
    }
)


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Power triggers need their threshold, and the plug its power sensor."""
    config = TRIGGER_SCHEMA(config)
    kind = config[CONF_TYPE]
    require_threshold(config)
    if (
        kind in (POWER_ABOVE, POWER_BELOW)
        and plug_entity_id(hass, config[CONF_DEVICE_ID], "sensor", "power") is None
    ):
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="no_power_sensor",
            translation_placeholders={"device_id": config[CONF_DEVICE_ID]},
        )
    return config


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """Every trigger a GreenNet plug offers in the automation editor."""
    base = {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    types: list[str] = list(EVENT_TRIGGERS)
    if plug_entity_id(hass, device_id, "sensor", "power") is not None:
        types = [POWER_ABOVE, POWER_BELOW, *types]
    return [{**base, CONF_TYPE: kind} for kind in types]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """Extra fields shown for power triggers: the threshold and an optional duration."""
    kind = config[CONF_TYPE]
    if kind not in (POWER_ABOVE, POWER_BELOW):
        return {}
    key = CONF_ABOVE if kind == POWER_ABOVE else CONF_BELOW
    return {
        "extra_fields": vol.Schema(
            {
                vol.Required(key): vol.Coerce(float),
                vol.Optional(CONF_FOR): cv.positive_time_period_dict,
            }
        )
    }


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Power triggers ride on numeric_state; the others on the hub's greennet_event."""
    kind = config[CONF_TYPE]
    if kind in (POWER_ABOVE, POWER_BELOW):
        entity_id = plug_entity_id(hass, config[CONF_DEVICE_ID], "sensor", "power")
        if entity_id is None:
            raise InvalidDeviceAutomationConfig(
                translation_domain=DOMAIN,
                translation_key="no_power_sensor",
                translation_placeholders={"device_id": config[CONF_DEVICE_ID]},
            )
        numeric: ConfigType = {CONF_PLATFORM: "numeric_state", "entity_id": entity_id}
        for key in (CONF_ABOVE, CONF_BELOW, CONF_FOR):
            if key in config:
                numeric[key] = config[key]
        numeric = await numeric_state_trigger.async_validate_trigger_config(hass, numeric)
        return await numeric_state_trigger.async_attach_trigger(
            hass, numeric, action, trigger_info, platform_type="device"
        )
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            CONF_EVENT_TYPE: EVENT_GREENNET,
            CONF_EVENT_DATA: {
                CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                CONF_TYPE: EVENT_TRIGGERS[kind],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
