"""Base entity of a GreenNet plug: device info, availability, unique id, push updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState, PlugUpdate, plug_device_info
from .protocol import Channel

_ALWAYS = frozenset({Channel.STATUS, Channel.INFO})


class GreenNetEntity(Entity):
    """One value or control of one plug, fed by the hub (no polling)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Channels whose messages change this entity's state (status/info always matter).
    _channels: frozenset[Channel] = frozenset()

    def __init__(self, hub: GreenNetHub, plug: PlugState, description: EntityDescription) -> None:
        """Bind to a plug that has announced itself (its `info` is known)."""
        assert plug.info is not None
        self.hub = hub
        self.plug = plug
        self.entity_description = description
        self._attr_unique_id = f"{plug.id}_{description.key}"
        self._attr_device_info = plug_device_info(plug.info)

    @property
    def available(self) -> bool:
        """Unavailable while the plug is offline or the broker link is down."""
        return self.hub.plug_available(self.plug.id)

    async def async_added_to_hass(self) -> None:
        """Follow the plug's updates until removed."""
        self.async_on_remove(self.hub.async_add_plug_listener(self.plug.id, self._handle_update))

    @callback
    def _handle_update(self, update: PlugUpdate | None) -> None:
        """Write the new state when availability or one of our channels changed."""
        if update is not None:
            if update.channel not in self._channels and update.channel not in _ALWAYS:
                return
            self.plug = update.state
        self.async_write_ha_state()


def async_setup_plug_entities(
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[GreenNetHub, PlugState], Iterable[GreenNetEntity]],
) -> None:
    """Add a platform's entities for every plug, including plugs that appear later."""
    hub = entry.runtime_data

    @callback
    def _add(plug: PlugState) -> None:
        async_add_entities(factory(hub, plug))

    entry.async_on_unload(hub.async_add_new_plug_listener(_add))
