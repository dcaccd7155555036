"""Config flow for GreenNet: one entry per MQTT broker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from . import async_broker_settings
from . import protocol as p
from .const import (
    CONF_CA_CERT,
    CONF_DEADBAND,
    CONF_IGNORED_PLUGS,
    CONF_INTERVAL,
    CONF_PREFIX,
    CONF_TLS,
    DEFAULT_PORT,
    DOMAIN,
    LOGGER,
)
from .hub import GreenNetConfigEntry
from .transport import (
    InvalidAuth,
    InvalidCaCertificate,
    TlsVerificationFailed,
    TransportError,
    async_check_broker,
)

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_PORT = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))
_PEM = TextSelector(TextSelectorConfig(multiline=True))
CREDENTIALS_SCHEMA = vol.Schema(
    {vol.Optional(CONF_USERNAME): str, vol.Optional(CONF_PASSWORD): _PASSWORD}
)
# Errors after which a TLS form offers the CA field.
_TLS_ERRORS = frozenset({"tls_verification_failed", "invalid_ca_certificate"})


def _ca_field(defaults: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """The optional CA field, pre-filled from `defaults`."""
    suggested = {"suggested_value": defaults.get(CONF_CA_CERT)}
    return {vol.Optional(CONF_CA_CERT, description=suggested): _PEM}


def _broker_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Every broker setting, pre-filled from `defaults`; the CA field once TLS is on."""
    ca_field = _ca_field(defaults) if defaults.get(CONF_TLS) else {}
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): _PORT,
            vol.Optional(
                CONF_USERNAME, description={"suggested_value": defaults.get(CONF_USERNAME)}
            ): str,
            vol.Optional(
                CONF_PASSWORD, description={"suggested_value": defaults.get(CONF_PASSWORD)}
            ): _PASSWORD,
            vol.Required(CONF_TLS, default=defaults.get(CONF_TLS, False)): bool,
            vol.Required(CONF_PREFIX, default=defaults.get(CONF_PREFIX, p.DEFAULT_PREFIX)): str,
            **ca_field,
        }
    )


def _clean_ca(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the CA only with TLS and only when something was pasted."""
    ca_pem = str(data.pop(CONF_CA_CERT, None) or "").strip()
    if data.get(CONF_TLS) and ca_pem:
        data[CONF_CA_CERT] = ca_pem + "\n"
    return data


def broker_unique_id(data: Mapping[str, Any]) -> str:
    """One entry per broker: host and port."""
    return f"{str(data[CONF_HOST]).strip().lower()}:{int(data[CONF_PORT])}"


async def _async_try_connect(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Connect once with these settings: None when fine, else the error key."""
    try:
        p.validate_prefix(data.get(CONF_PREFIX, p.DEFAULT_PREFIX))
    except p.ProtocolError:
        return "invalid_prefix"
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


class GreenNetConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a GreenNet hub by hand, from zeroconf or from HA's MQTT discovery."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: the uptime sensor became "last restart" (see __init__.py)

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._discovered: dict[str, Any] = {}
        self._ask_credentials = False
        self._ask_ca = False

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: GreenNetConfigEntry) -> OptionsFlow:
        """The options flow (defaults sent to plugs, ignored plugs)."""
        return GreenNetOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the broker and connect before creating the entry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _clean_ca(user_input)
            await self.async_set_unique_id(broker_unique_id(user_input))
            self._abort_if_unique_id_configured()
            if (error := await _async_try_connect(self.hass, user_input)) is None:
                return self.async_create_entry(
                    title=f"GreenNet {user_input[CONF_HOST]}", data=user_input
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="user", data_schema=_broker_schema(user_input or {}), errors=errors
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A plug advertised `_greennet._tcp`; its TXT names the broker."""
        props = discovery_info.properties
        try:
            plug_id = str(props.get("id", ""))
            if not p.PLUG_ID_RE.fullmatch(plug_id) or not props.get("broker"):
                raise ValueError("missing id or broker")
            data = {
                CONF_HOST: str(props["broker"]),
                CONF_PORT: _PORT(props.get("port", DEFAULT_PORT)),
                CONF_TLS: False,
                CONF_PREFIX: p.validate_prefix(str(props.get("prefix", p.DEFAULT_PREFIX))),
            }
        except (ValueError, vol.Invalid):
            return self.async_abort(reason="invalid_discovery_info")
        return await self._async_discovered(data, plug_id)

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """HA's MQTT integration saw a plug's `info`: use the broker it is connected to."""
        # `<prefix>/<id>/info`: the prefix is everything before the last two levels.
        prefix = discovery_info.topic.rsplit("/", 2)[0]
        try:
            plug_id, _ = p.split_topic(prefix, discovery_info.topic)
            info = p.parse_info(discovery_info.payload, expected_id=plug_id)
        except p.ProtocolError:
            return self.async_abort(reason="invalid_discovery_info")
        mqtt_entries = self.hass.config_entries.async_entries("mqtt")
        if not mqtt_entries:
            return self.async_abort(reason="mqtt_not_configured")
        broker = mqtt_entries[0].data
        data = {
            CONF_HOST: broker["broker"],
            CONF_PORT: int(broker.get("port", DEFAULT_PORT)),
            CONF_USERNAME: broker.get("username"),
            CONF_PASSWORD: broker.get("password"),
            CONF_TLS: broker.get("certificate") is not None,
            CONF_PREFIX: prefix,
            # HA's MQTT integration stores an uploaded CA as PEM text, or "auto" for system CAs.
            CONF_CA_CERT: None
            if broker.get("certificate") == "auto"
            else broker.get("certificate"),
        }
        present = {key: value for key, value in data.items() if value is not None}
        return await self._async_discovered(present, info.id)

    async def _async_discovered(self, data: dict[str, Any], plug_id: str) -> ConfigFlowResult:
        if (entry := await self._async_entry_whose_broker_moved(data, plug_id)) is not None:
            LOGGER.info(
                "Plug %s reports its broker at %s:%s; %s now uses that address",
                plug_id,
                data[CONF_HOST],
                data[CONF_PORT],
                entry.title,
            )
            return self.async_update_reload_and_abort(
                entry,
                unique_id=broker_unique_id(data),
                title=f"GreenNet {data[CONF_HOST]}",
                data_updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]},
                reason="broker_moved",
            )
        await self.async_set_unique_id(broker_unique_id(data))
        self._abort_if_unique_id_configured()
        self._discovered = data
        self.context["title_placeholders"] = {"name": plug_id, "host": data[CONF_HOST]}
        return await self.async_step_discovery_confirm()

    async def _async_entry_whose_broker_moved(
        self, data: Mapping[str, Any], plug_id: str
    ) -> GreenNetConfigEntry | None:
        """The entry that knows this plug, has lost its own broker and reaches the new one.

        A plug that moved to another broker while its entry's broker still works is not a
        move of the broker: that case is offered as a new broker, as before.
        """
        new_id = broker_unique_id(data)
        if self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, new_id):
            return None
        device = dr.async_get(self.hass).async_get_device(identifiers={(DOMAIN, plug_id)})
        if device is None:
            return None
        for entry_id in device.config_entries:
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if (
                entry is None
                or entry.domain != DOMAIN
                or entry.data.get(CONF_PREFIX, p.DEFAULT_PREFIX) != data[CONF_PREFIX]
                or (entry.state is ConfigEntryState.LOADED and entry.runtime_data.connected)
            ):
                continue
            moved = {**entry.data, CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
            if await _async_try_connect(self.hass, moved) is None:
                return entry
        return None

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered broker; ask for credentials only if it wants them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            discovered = dict(self._discovered)
            if self._ask_ca:  # the form's CA field replaces (or clears) the discovered one
                discovered.pop(CONF_CA_CERT, None)
            data = _clean_ca({**discovered, **user_input})
            if (error := await _async_try_connect(self.hass, data)) is None:
                return self.async_create_entry(title=f"GreenNet {data[CONF_HOST]}", data=data)
            errors["base"] = error
            self._ask_credentials = self._ask_credentials or error == "invalid_auth"
            self._ask_ca = self._ask_ca or error in _TLS_ERRORS
        schema = CREDENTIALS_SCHEMA if self._ask_credentials else vol.Schema({})
        if self._ask_ca:
            schema = schema.extend(_ca_field(self._discovered))
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "host": self._discovered[CONF_HOST],
                "port": str(self._discovered[CONF_PORT]),
            },
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The broker rejected the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new credentials and check them."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            if (error := await _async_try_connect(self.hass, data)) is None:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
            errors["base"] = error
        schema = self.add_suggested_values_to_schema(
            CREDENTIALS_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME)}
        )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders={"host": entry.data[CONF_HOST]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the broker settings of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _clean_ca(user_input)
            unique_id = broker_unique_id(user_input)
            if any(
                other.unique_id == unique_id and other.entry_id != entry.entry_id
                for other in self._async_current_entries(include_ignore=False)
            ):
                return self.async_abort(reason="already_configured")
            if (error := await _async_try_connect(self.hass, user_input)) is None:
                return self.async_update_reload_and_abort(
                    entry,
                    unique_id=unique_id,
                    title=f"GreenNet {user_input[CONF_HOST]}",
                    data=user_input,
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_broker_schema(user_input or entry.data),
            errors=errors,
        )


class GreenNetOptionsFlow(OptionsFlow):
    """Defaults sent to plugs, and plugs this entry should ignore."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        if user_input is not None:
            if CONF_INTERVAL in user_input:
                user_input[CONF_INTERVAL] = round(user_input[CONF_INTERVAL])
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        ignored: list[str] = list(options.get(CONF_IGNORED_PLUGS, []))
        registry = dr.async_get(self.hass)
        choices = {plug_id: plug_id for plug_id in ignored}
        for device in dr.async_entries_for_config_entry(registry, self.config_entry.entry_id):
            for domain, plug_id in device.identifiers:
                if domain == DOMAIN:
                    choices[plug_id] = f"{device.name} ({plug_id})"
        schema = vol.Schema(
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
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, options)
        )
