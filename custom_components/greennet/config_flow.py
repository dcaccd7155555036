"""Config flow for GreenNet: one entry per MQTT broker (and topic prefix)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_MQTT,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from . import protocol as p
from .brokers import (
    async_entry_on_same_broker,
    data_from_ha_mqtt,
    ha_mqtt_broker,
    ha_mqtt_loaded,
)
from .cloud import link_settings
from .cloud.const import CONF_CLOUD, REAUTH_CLOUD
from .cloud.flow import CloudLinkSteps, CloudReauthSteps
from .config_schemas import (
    CREDENTIALS_SCHEMA,
    PORT,
    TLS_ERRORS,
    TRANSPORT_SCHEMA,
    async_try_connect,
    broker_schema,
    ca_field,
    clean_ca,
    options_schema,
    prefix_error,
    prefix_schema,
)
from .connection import transport_of
from .const import (
    CONF_CA_CERT,
    CONF_IGNORED_PLUGS,
    CONF_INTERVAL,
    CONF_PREFIX,
    CONF_TLS,
    CONF_TRANSPORT,
    DEFAULT_PORT,
    DOMAIN,
    LOGGER,
    TRANSPORT_AIOMQTT,
    TRANSPORT_HA_MQTT,
)
from .hub import GreenNetConfigEntry


def _title(data: Mapping[str, Any]) -> str:
    if transport_of(data) == TRANSPORT_HA_MQTT:
        prefix = data.get(CONF_PREFIX, p.DEFAULT_PREFIX)
        suffix = "" if prefix == p.DEFAULT_PREFIX else f" ({prefix})"
        return f"GreenNet via Home Assistant MQTT{suffix}"
    return f"GreenNet {data[CONF_HOST]}"


def _ha_mqtt_error(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Why an entry on HA's MQTT connection cannot be made now, if it cannot."""
    # Imported here: installations without HA's MQTT integration never load it.
    from .ha_mqtt_transport import ha_mqtt_connected

    if error := prefix_error(data):
        return error
    return None if ha_mqtt_connected(hass) else "mqtt_not_connected"


class GreenNetConfigFlow(CloudReauthSteps, ConfigFlow, domain=DOMAIN):
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
        """The options flow (plug settings, the cloud link)."""
        return GreenNetOptionsFlow()

    async def _async_abort_if_same_broker(
        self, data: Mapping[str, Any], exclude: str | None = None
    ) -> None:
        """Abort when another entry reaches this broker with this prefix.

        Not `_async_abort_entries_match`: it compares stored values literally, and
        `localhost` and `127.0.0.1` are one broker (see brokers.py).
        """
        others = [
            entry
            for entry in self._async_current_entries(include_ignore=False)
            if entry.entry_id != exclude
        ]
        if await async_entry_on_same_broker(self.hass, data, others) is not None:
            raise AbortFlow("already_configured")

    async def _async_create(self, data: dict[str, Any]) -> ConfigFlowResult:
        # A discovery flow's id only kept flows of one broker apart; entries carry none.
        await self.async_set_unique_id(None)
        return self.async_create_entry(title=_title(data), data=data)

    # --- user -----------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer HA's MQTT connection when it runs; otherwise ask for the broker."""
        if user_input is None and ha_mqtt_loaded(self.hass):
            return self.async_show_menu(step_id="user", menu_options=["broker", "ha_mqtt"])
        return await self._async_step_broker("user", user_input)

    async def async_step_broker(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The integration's own connection to a broker (the default)."""
        return await self._async_step_broker("broker", user_input)

    async def _async_step_broker(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Ask for the broker and connect before creating the entry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = clean_ca(user_input)
            await self._async_abort_if_same_broker(user_input)
            if (error := await async_try_connect(self.hass, user_input)) is None:
                return await self._async_create(user_input)
            errors["base"] = error
        return self.async_show_form(
            step_id=step_id, data_schema=broker_schema(user_input or {}), errors=errors
        )

    async def async_step_ha_mqtt(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Home Assistant's MQTT connection: only the topic prefix to ask."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_TRANSPORT: TRANSPORT_HA_MQTT, CONF_PREFIX: user_input[CONF_PREFIX]}
            await self._async_abort_if_same_broker(data)
            if (error := _ha_mqtt_error(self.hass, data)) is None:
                return await self._async_create(data)
            errors["base"] = error
        return self.async_show_form(
            step_id="ha_mqtt", data_schema=prefix_schema(user_input or {}), errors=errors
        )

    # --- discovery ------------------------------------------------------------

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A plug advertised `_greennet._tcp`; its TXT names the broker."""
        props = discovery_info.properties
        try:
            plug_id = str(props.get("id", ""))
            if not p.PLUG_ID_RE.fullmatch(plug_id) or not props.get("broker"):
                raise ValueError("missing id or broker")
            data = {
                CONF_HOST: str(props["broker"]),
                CONF_PORT: PORT(props.get("port", DEFAULT_PORT)),
                CONF_TLS: False,
                CONF_PREFIX: p.validate_prefix(str(props.get("prefix", p.DEFAULT_PREFIX))),
            }
        except (ValueError, vol.Invalid):
            return self.async_abort(reason="invalid_discovery_info")
        return await self._async_discovered(data, plug_id)

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """HA's MQTT integration saw a plug's `info`: offer its connection to that broker."""
        # `<prefix>/<id>/info`: the prefix is everything before the last two levels.
        prefix = discovery_info.topic.rsplit("/", 2)[0]
        try:
            plug_id, _ = p.split_topic(prefix, discovery_info.topic)
            info = p.parse_info(discovery_info.payload, expected_id=plug_id)
        except p.ProtocolError:
            return self.async_abort(reason="invalid_discovery_info")
        if (broker := ha_mqtt_broker(self.hass)) is None:
            return self.async_abort(reason="mqtt_not_configured")
        return await self._async_discovered(data_from_ha_mqtt(broker, prefix), info.id)

    async def _async_discovered(self, data: dict[str, Any], plug_id: str) -> ConfigFlowResult:
        if (entry := await self._async_entry_whose_broker_moved(data, plug_id)) is not None:
            LOGGER.info(
                "Plug %s reports its broker at %s:%s; %s now uses that address",
                plug_id,
                data[CONF_HOST],
                data[CONF_PORT],
                entry.title,
            )
            moved = {**entry.data, CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
            return self.async_update_reload_and_abort(
                entry, unique_id=None, title=_title(moved), data=moved, reason="broker_moved"
            )
        # One flow per broker and prefix, and "ignore" sticks (the id stays on the flow).
        await self.async_set_unique_id(
            f"{data[CONF_HOST]}:{data[CONF_PORT]}/{data[CONF_PREFIX]}".lower()
        )
        self._abort_if_unique_id_configured()
        await self._async_abort_if_same_broker(data)
        self._discovered = data
        self.context["title_placeholders"] = {"name": plug_id, "host": data[CONF_HOST]}
        if self.source == SOURCE_MQTT:
            return await self.async_step_mqtt_confirm()
        return await self.async_step_discovery_confirm()

    async def _async_entry_whose_broker_moved(
        self, data: Mapping[str, Any], plug_id: str
    ) -> GreenNetConfigEntry | None:
        """The entry that knows this plug, has lost its own broker and reaches the new one.

        A plug that moved to another broker while its entry's broker still works is not a
        move of the broker: that case is offered as a new broker, as before.
        """
        entries = self._async_current_entries(include_ignore=False)
        if await async_entry_on_same_broker(self.hass, data, entries) is not None:
            return None
        device = dr.async_get(self.hass).async_get_device(identifiers={(DOMAIN, plug_id)})
        if device is None:
            return None
        for entry_id in device.config_entries:
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if (
                entry is None
                or entry.domain != DOMAIN
                or transport_of(entry.data) != TRANSPORT_AIOMQTT
                or entry.data.get(CONF_PREFIX, p.DEFAULT_PREFIX) != data[CONF_PREFIX]
                or (entry.state is ConfigEntryState.LOADED and entry.runtime_data.connected)
            ):
                continue
            moved = {**entry.data, CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
            if await async_try_connect(self.hass, moved) is None:
                return entry
        return None

    async def async_step_mqtt_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Use HA's MQTT connection (offered first) or the integration's own client."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_TRANSPORT] == TRANSPORT_AIOMQTT:
                return await self.async_step_discovery_confirm({})
            data = {
                CONF_TRANSPORT: TRANSPORT_HA_MQTT,
                CONF_PREFIX: self._discovered[CONF_PREFIX],
            }
            if (error := _ha_mqtt_error(self.hass, data)) is None:
                return await self._async_create(data)
            errors["base"] = error
        return self.async_show_form(
            step_id="mqtt_confirm",
            data_schema=TRANSPORT_SCHEMA,
            errors=errors,
            description_placeholders={
                "host": self._discovered[CONF_HOST],
                "port": str(self._discovered[CONF_PORT]),
            },
        )

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered broker; ask for credentials only if it wants them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            discovered = dict(self._discovered)
            if self._ask_ca:  # the form's CA field replaces (or clears) the discovered one
                discovered.pop(CONF_CA_CERT, None)
            data = clean_ca({**discovered, **user_input})
            if (error := await async_try_connect(self.hass, data)) is None:
                return await self._async_create(data)
            errors["base"] = error
            self._ask_credentials = self._ask_credentials or error == "invalid_auth"
            self._ask_ca = self._ask_ca or error in TLS_ERRORS
        schema = CREDENTIALS_SCHEMA if self._ask_credentials else vol.Schema({})
        if self._ask_ca:
            schema = schema.extend(ca_field(self._discovered))
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "host": self._discovered[CONF_HOST],
                "port": str(self._discovered[CONF_PORT]),
            },
        )

    # --- reauth and reconfigure -----------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The broker rejected the stored credentials, or the cloud the link token."""
        if entry_data.get(REAUTH_CLOUD):
            return await self.async_step_cloud_reauth()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new credentials and check them."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            if (error := await async_try_connect(self.hass, data)) is None:
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
        """Change the broker settings (or, on HA's MQTT connection, the prefix)."""
        entry = self._get_reconfigure_entry()
        on_ha_mqtt = transport_of(entry.data) == TRANSPORT_HA_MQTT
        errors: dict[str, str] = {}
        if user_input is not None:
            link = {CONF_CLOUD: entry.data[CONF_CLOUD]} if CONF_CLOUD in entry.data else {}
            # the broker changes, the cloud link stays
            data = {**entry.data, **user_input} if on_ha_mqtt else {**clean_ca(user_input), **link}
            await self._async_abort_if_same_broker(data, exclude=entry.entry_id)
            error = (
                _ha_mqtt_error(self.hass, data)
                if on_ha_mqtt
                else await async_try_connect(self.hass, data)
            )
            if error is None:
                return self.async_update_reload_and_abort(
                    entry, unique_id=None, title=_title(data), data=data
                )
            errors["base"] = error
        defaults = user_input or entry.data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=prefix_schema(defaults) if on_ha_mqtt else broker_schema(defaults),
            errors=errors,
        )


class GreenNetOptionsFlow(CloudLinkSteps, OptionsFlow):
    """Defaults sent to plugs, plugs this entry should ignore, and the cloud link."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Plug settings, or linking to (unlinking from) GreenNet Cloud."""
        linked = link_settings(self.config_entry.data) is not None
        return self.async_show_menu(
            step_id="init", menu_options=["settings", "cloud_unlink" if linked else "cloud_link"]
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every plug option."""
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
                if domain == DOMAIN and p.PLUG_ID_RE.fullmatch(plug_id):  # not the hub's device
                    choices[plug_id] = f"{device.name} ({plug_id})"
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(options_schema(choices), options),
        )
