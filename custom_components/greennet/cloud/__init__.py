"""GreenNet Cloud link of a hub: set up, tear down, and the hub's service device.

The entry's data holds the link under `cloud` ({url, home_id, token}); without it the hub
is not linked and nothing here runs. See docs/cloud-link.md for the protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.loader import async_get_integration

from ..const import DOMAIN, LOGGER, MANUFACTURER
from ..hub import GreenNetConfigEntry, GreenNetHub
from .api import CloudApiError, async_revoke_link_token
from .backlog import TelemetryBacklog
from .const import CONF_CLOUD, CONF_CLOUD_URL, CONF_HOME_ID, CONF_LINK_TOKEN
from .link import CloudLink, LinkSettings

__all__ = ["CloudLink", "async_remove_cloud_link", "async_setup_cloud_link", "link_settings"]


def link_settings(data: Mapping[str, Any]) -> LinkSettings | None:
    """The link stored in an entry's data, or None when the hub is not linked."""
    cloud = data.get(CONF_CLOUD)
    if not isinstance(cloud, Mapping):
        return None
    try:
        return LinkSettings(
            url=str(cloud[CONF_CLOUD_URL]),
            home_id=str(cloud[CONF_HOME_ID]),
            token=str(cloud[CONF_LINK_TOKEN]),
        )
    except KeyError:
        return None


def hub_device_identifier(entry: GreenNetConfigEntry) -> tuple[str, str]:
    """The hub's own (service) device; plug ids never look like this."""
    return (DOMAIN, f"hub-{entry.entry_id}")


def hub_device_info(entry: GreenNetConfigEntry, url: str) -> DeviceInfo:
    """The hub as a service device: where its hub-wide entities (cloud link) live."""
    return DeviceInfo(
        identifiers={hub_device_identifier(entry)},
        entry_type=DeviceEntryType.SERVICE,
        manufacturer=MANUFACTURER,
        model="MQTT hub",
        name=entry.title,
        configuration_url=f"{url}/app/",
    )


async def async_setup_cloud_link(
    hass: HomeAssistant, entry: GreenNetConfigEntry, hub: GreenNetHub
) -> None:
    """Start the hub's cloud link when the entry is linked; clean up after an unlink."""
    settings = link_settings(entry.data)
    backlog = TelemetryBacklog(hass, entry.entry_id, entry.title)
    if settings is None:
        hub.cloud_link = None
        await backlog.async_remove()  # left by an unlink: those samples have no home now
        registry = dr.async_get(hass)
        # the entry's own devices, not async_get_device (identifiers stopped being unique)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if hub_device_identifier(entry) in device.identifiers:
                registry.async_remove_device(device.id)  # the hub's own: no other entry has it
        return
    await backlog.async_load()
    integration = await async_get_integration(hass, DOMAIN)
    link = CloudLink(hass, entry, hub, settings, backlog, str(integration.version))
    hub.cloud_link = link
    await link.async_start()
    entry.async_on_unload(link.async_stop)


async def async_revoke(hass: HomeAssistant, settings: LinkSettings) -> bool:
    """Revoke the link token in the cloud; False when that could not be done."""
    try:
        async with asyncio.timeout(10):
            await async_revoke_link_token(
                async_get_clientsession(hass), settings.url, settings.token
            )
    except (CloudApiError, TimeoutError) as err:
        LOGGER.warning("Could not revoke the GreenNet Cloud link token: %s", err)
        return False
    return True


async def async_remove_cloud_link(hass: HomeAssistant, entry: GreenNetConfigEntry) -> None:
    """The entry is deleted: revoke its token when the cloud is reachable, drop the backlog."""
    if (settings := link_settings(entry.data)) is not None:
        await async_revoke(hass, settings)
    await TelemetryBacklog(hass, entry.entry_id, entry.title).async_remove()
