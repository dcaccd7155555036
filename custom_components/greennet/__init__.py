"""The GreenNet energy-monitoring smart plug integration: set up and unload entries."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .cloud import async_remove_cloud_link, async_setup_cloud_link, hub_device_identifier
from .connection import async_create_transport
from .const import CONF_IGNORED_PLUGS, CONF_PREFIX, DOMAIN, PLATFORMS
from .hub import GreenNetConfigEntry, GreenNetHub
from .protocol import DEFAULT_PREFIX
from .transport import InvalidAuth, TransportError


async def async_migrate_entry(hass: HomeAssistant, entry: GreenNetConfigEntry) -> bool:
    """Bring an entry (and its entities) from an older minor version to this one."""
    if entry.version > 1:
        return False  # written by a newer integration: refuse rather than guess
    if entry.minor_version < 2:
        # 1.2: the uptime sensor (seconds, changing every report) became "last restart".
        @callback
        def uptime_to_last_restart(entity: er.RegistryEntry) -> dict[str, Any] | None:
            if entity.domain == "sensor" and entity.unique_id.endswith("_uptime"):
                return {"new_unique_id": entity.unique_id.removesuffix("_uptime") + "_last_restart"}
            return None

        await er.async_migrate_entries(hass, entry.entry_id, uptime_to_last_restart)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: GreenNetConfigEntry) -> bool:
    """Connect to the broker, then let the platforms follow the plugs."""
    hub = GreenNetHub(hass, entry, entry.data.get(CONF_PREFIX, DEFAULT_PREFIX))
    try:
        transport = await async_create_transport(hass, entry.data, hub)
    except TransportError as err:  # a stored CA that no longer parses (edited by hand)
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="invalid_ca_certificate"
        ) from err
    hub.attach(transport)
    try:
        await transport.async_connect()
        await hub.async_subscribe()
    except InvalidAuth as err:
        await transport.async_close()
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except TransportError as err:
        await transport.async_close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = hub
    await async_setup_cloud_link(hass, entry, hub)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await hub.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))

    async def _async_hass_stopping(_event: Event) -> None:
        # HA does not unload entries when it stops: end the broker session ourselves
        await hub.async_stop()

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_hass_stopping))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: GreenNetConfigEntry) -> bool:
    """Unload the platforms and close the broker connection."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def _async_options_updated(hass: HomeAssistant, entry: GreenNetConfigEntry) -> None:
    """New defaults go to the plugs at once; a changed ignore list needs a reload."""
    hub = entry.runtime_data
    if dict(entry.options) == hub.options:
        return  # a data change (reauth, reconfigure): its flow reloads the entry itself
    if set(entry.options.get(CONF_IGNORED_PLUGS, ())) != hub.ignored:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    hub.options = dict(entry.options)
    await hub.async_send_defaults()


async def async_remove_entry(hass: HomeAssistant, entry: GreenNetConfigEntry) -> None:
    """The entry is deleted: revoke its cloud link token (when reachable) and drop its backlog."""
    await async_remove_cloud_link(hass, entry)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: GreenNetConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a plug that is offline (or gone); clear its retained topics."""
    if entry.state is not ConfigEntryState.LOADED:
        return True  # nothing running to ask; the plug reappears if it is still there
    hub = entry.runtime_data
    if hub_device_identifier(entry) in device.identifiers:
        return hub.cloud_link is None  # the hub's own device stays while it is linked
    plug_ids = [ident for domain, ident in device.identifiers if domain == DOMAIN]
    if any(hub.plug_online(plug_id) for plug_id in plug_ids):
        return False
    for plug_id in plug_ids:
        await hub.async_forget_plug(plug_id)
    return True
