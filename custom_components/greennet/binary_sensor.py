"""Problem sensors of a GreenNet plug."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .cloud import CloudLink, hub_device_info
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor and how to read it from the plug's state."""

    value_fn: Callable[[PlugState], bool | None]


BINARY_SENSORS: tuple[GreenNetBinarySensorDescription, ...] = (
    GreenNetBinarySensorDescription(
        key="overload",
        translation_key="overload",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda plug: None if plug.protection is None else plug.protection.tripped,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [GreenNetBinarySensor(hub, plug, d) for d in BINARY_SENSORS]

    async_setup_plug_entities(entry, async_add_entities, factory)
    if (link := entry.runtime_data.cloud_link) is not None:
        async_add_entities([GreenNetCloudConnectedSensor(entry, link)])


class GreenNetBinarySensor(GreenNetEntity, BinarySensorEntity):
    """On while the plug reports a problem (e.g. protection tripped)."""

    entity_description: GreenNetBinarySensorDescription
    _channels = frozenset({p.Channel.PROTECTION})

    def _show(self, value: bool | None) -> None:
        self._attr_is_on = value


class GreenNetCloudConnectedSensor(BinarySensorEntity):
    """On while the hub's GreenNet Cloud link is up (on the hub's service device)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "cloud_connected"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: GreenNetConfigEntry, link: CloudLink) -> None:
        """Follow `link`."""
        self._link = link
        self._attr_unique_id = f"{entry.entry_id}_cloud_connected"
        self._attr_device_info = hub_device_info(entry, link.settings.url)
        self._attr_is_on = link.connected

    async def async_added_to_hass(self) -> None:
        """Write the state whenever the link's state changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self._link.async_add_listener(self._link_changed))

    @callback
    def _link_changed(self) -> None:
        if self._attr_is_on != self._link.connected:
            self._attr_is_on = self._link.connected
            self.async_write_ha_state()
