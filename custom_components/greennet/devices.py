"""The device registry side of the hub: one device per plug, looked up by identifier."""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from . import protocol as p
from .const import DOMAIN
from .models import plug_device_info


def async_plug_device(hass: HomeAssistant, entry_id: str, plug_id: str) -> dr.DeviceEntry | None:
    """The entry's device of a plug (an indexed lookup, no scan of the registry)."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, plug_id)})
    if device is None or entry_id not in device.config_entries:
        return None
    return device


def async_sync_plug_device(hass: HomeAssistant, entry_id: str, info: p.PlugInfo) -> bool:
    """Create or update the plug's device; True when it is new to this entry."""
    new = async_plug_device(hass, entry_id, info.id) is None
    dr.async_get(hass).async_get_or_create(config_entry_id=entry_id, **plug_device_info(info))
    return new


def async_drop_ignored_devices(hass: HomeAssistant, entry_id: str, ignored: Iterable[str]) -> None:
    """Detach the devices of plugs the entry now ignores."""
    skip = frozenset(ignored)
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if any(ident in skip for _, ident in device.identifiers):
            registry.async_update_device(device.id, remove_config_entry_id=entry_id)
