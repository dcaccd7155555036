"""Device conditions for GreenNet plugs: relay on/off, power above/below."""

from __future__ import annotations

from typing import Final

import voluptuous as vol
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.const import (
    CONF_ABOVE,
    CONF_BELOW,
    CONF_CONDITION,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_TYPE,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import condition
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType, TemplateVarsType

from .const import DOMAIN
from .device_automation import POWER_ABOVE, POWER_BELOW, plug_entity_id, require_threshold

RELAY_ON: Final = "relay_on"
RELAY_OFF: Final = "relay_off"
CONDITION_TYPES: Final = (RELAY_ON, RELAY_OFF, POWER_ABOVE, POWER_BELOW)

CONDITION_SCHEMA = cv.DEVICE_CONDITION_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(CONDITION_TYPES),
        vol.Optional(CONF_ABOVE): vol.Coerce(float),
        vol.Optional(CONF_BELOW): vol.Coerce(float),
    }
)


def _target(condition_type: str) -> tuple[str, str]:
    return ("switch", "relay") if condition_type in (RELAY_ON, RELAY_OFF) else ("sensor", "power")


# Exception translation key when the device lacks the entity a condition reads.
_MISSING: Final = {"relay": "no_relay_switch", "power": "no_power_sensor"}


async def async_validate_condition_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Power conditions need their threshold; the plug needs the entity checked."""
    config = CONDITION_SCHEMA(config)
    kind = config[CONF_TYPE]
    require_threshold(config)
    if plug_entity_id(hass, config[CONF_DEVICE_ID], *_target(kind)) is None:
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key=_MISSING[_target(kind)[1]],
            translation_placeholders={"device_id": config[CONF_DEVICE_ID]},
        )
    return config


async def async_get_conditions(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """Conditions offered for a plug in the automation editor."""
    base = {CONF_CONDITION: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    return [
        {**base, CONF_TYPE: kind}
        for kind in CONDITION_TYPES
        if plug_entity_id(hass, device_id, *_target(kind)) is not None
    ]


async def async_get_condition_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """Threshold field for the power conditions."""
    kind = config[CONF_TYPE]
    if kind == POWER_ABOVE:
        return {"extra_fields": vol.Schema({vol.Required(CONF_ABOVE): vol.Coerce(float)})}
    if kind == POWER_BELOW:
        return {"extra_fields": vol.Schema({vol.Required(CONF_BELOW): vol.Coerce(float)})}
    return {}


def async_condition_from_config(
    hass: HomeAssistant, config: ConfigType
) -> condition.ConditionCheckerType:
    """A checker that reads the plug's current relay state or power."""
    kind = config[CONF_TYPE]
    device_id = config[CONF_DEVICE_ID]
    platform, key = _target(kind)

    def check(hass: HomeAssistant, variables: TemplateVarsType = None) -> bool:
        entity_id = plug_entity_id(hass, device_id, platform, key)
        state = hass.states.get(entity_id) if entity_id else None
        if state is None:
            return False
        if kind in (RELAY_ON, RELAY_OFF):
            # Unavailable or unknown is neither: only a reported state satisfies either.
            return state.state == (STATE_ON if kind == RELAY_ON else STATE_OFF)
        try:
            power = float(state.state)
        except ValueError:
            return False  # unavailable/unknown never satisfies a power condition
        if kind == POWER_ABOVE:
            return power > float(config[CONF_ABOVE])
        return power < float(config[CONF_BELOW])

    return check
