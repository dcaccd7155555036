"""The forms of the GreenNet config flows, and the checks their input goes through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from . import protocol as p
from .aiomqtt_transport import async_check_broker
from .connection import async_broker_settings
from .const import (
    CONF_CA_CERT,
    CONF_DEADBAND,
    CONF_IGNORED_PLUGS,
    CONF_INTERVAL,
    CONF_PREFIX,
    CONF_TLS,
    CONF_TRANSPORT,
    DEFAULT_PORT,
    LOGGER,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)
from .transport import InvalidAuth, InvalidCaCertificate, TlsVerificationFailed, TransportError

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
PORT = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))
_PEM = TextSelector(TextSelectorConfig(multiline=True))
CREDENTIALS_SCHEMA = vol.Schema(
    {vol.Optional(CONF_USERNAME): str, vol.Optional(CONF_PASSWORD): _PASSWORD}
)
# Errors after which a TLS form offers the CA field.
TLS_ERRORS = frozenset({"tls_verification_failed", "invalid_ca_certificate"})
TRANSPORT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TRANSPORT, default=TRANSPORT_HA_MQTT): SelectSelector(
            SelectSelectorConfig(
                options=[TRANSPORT_HA_MQTT, TRANSPORT_AIOMQTT],
                translation_key=CONF_TRANSPORT,
                mode=SelectSelectorMode.LIST,
            )
        )
    }
)


def ca_field(defaults: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """The optional CA field, pre-filled from `defaults`."""
    suggested = {"suggested_value": defaults.get(CONF_CA_CERT)}
    return {vol.Optional(CONF_CA_CERT, description=suggested): _PEM}


def prefix_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Only the topic prefix (an entry on HA's MQTT connection has nothing else)."""
    return vol.Schema(
        {vol.Required(CONF_PREFIX, default=defaults.get(CONF_PREFIX, p.DEFAULT_PREFIX)): str}
    )


def broker_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Every broker setting, pre-filled from `defaults`; the CA field once TLS is on."""
    ca = ca_field(defaults) if defaults.get(CONF_TLS) else {}
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): PORT,
            vol.Optional(
                CONF_USERNAME, description={"suggested_value": defaults.get(CONF_USERNAME)}
            ): str,
            vol.Optional(
                CONF_PASSWORD, description={"suggested_value": defaults.get(CONF_PASSWORD)}
            ): _PASSWORD,
            vol.Required(CONF_TLS, default=defaults.get(CONF_TLS, False)): bool,
            vol.Required(CONF_PREFIX, default=defaults.get(CONF_PREFIX, p.DEFAULT_PREFIX)): str,
            **ca,
        }
    )


def options_schema(choices: Mapping[str, str]) -> vol.Schema:
    """Defaults sent to plugs and the plugs to ignore (`choices`: plug id -> label)."""
    return vol.Schema(
        {
            vol.Optional(CONF_INTERVAL): NumberSelector(
                NumberSelectorConfig(
                    min=p.INTERVAL_RANGE[0],
                    max=p.INTERVAL_RANGE[1],
                    step=1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            vol.Optional(CONF_DEADBAND): NumberSelector(
                NumberSelectorConfig(
                    min=p.DEADBAND_RANGE[0],
                    max=p.DEADBAND_RANGE[1],
                    step=1,
                    unit_of_measurement="W",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            vol.Optional(CONF_IGNORED_PLUGS, default=[]): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=k, label=v) for k, v in sorted(choices.items())
                    ],
                    multiple=True,
                )
            ),
        }
    )


def clean_ca(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the CA only with TLS and only when something was pasted."""
    ca_pem = str(data.pop(CONF_CA_CERT, None) or "").strip()
    if data.get(CONF_TLS) and ca_pem:
        data[CONF_CA_CERT] = ca_pem + "\n"
    return data


def prefix_error(data: Mapping[str, Any]) -> str | None:
    """`invalid_prefix` when the prefix cannot be a topic root."""
    try:
        p.validate_prefix(data.get(CONF_PREFIX, p.DEFAULT_PREFIX))
    except p.ProtocolError:
        return "invalid_prefix"
    return None


async def async_try_connect(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Connect once with these settings: None when fine, else the error key."""
    if error := prefix_error(data):
        return error
    try:
        await async_check_broker(await async_broker_settings(hass, data))
    except InvalidCaCertificate:
        return "invalid_ca_certificate"
    except InvalidAuth:
        return "invalid_auth"
    except TlsVerificationFailed as err:
        LOGGER.debug("Certificate of %s not trusted: %s", data[CONF_HOST], err)
        return "tls_verification_failed"
    except TransportError as err:
        LOGGER.debug("Cannot connect to %s: %s", data[CONF_HOST], err)
        return "cannot_connect"
    return None
