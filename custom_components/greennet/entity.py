"""Base entity of a GreenNet plug: device info, availability, unique id, push updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState, plug_device_info
from .protocol import Channel

_UNSET: Final = object()


class GreenNetEntity(Entity):
    """One value or control of one plug, fed by the hub (no polling).

    An update recomputes the entity's value from the plug and writes the state only when
    the value, or the availability, changed; the value goes into `_attr_*` (cached by HA).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Channels whose messages can change this entity's value.
    _channels: frozenset[Channel] = frozenset()

    def __init__(self, hub: GreenNetHub, plug: PlugState, description: EntityDescription) -> None:
        """Bind to a plug that has announced itself (its `info` is known)."""
        assert plug.info is not None
        self.hub = hub
        self.plug = plug
        self.entity_description = description
        self._attr_unique_id = f"{plug.id}_{description.key}"
        self._attr_device_info = plug_device_info(plug.info)
        self._attr_available = hub.plug_available(plug.id)
        self._shown: Any = _UNSET
        self._refresh()

    def _value(self) -> Any:
        """This entity's value in the plug's current state."""
        return None

    def _show(self, value: Any) -> None:
        """Put a new value into the `_attr_*` HA reads."""

    def _same(self, shown: Any, value: Any) -> bool:
        """Whether `value` shows nothing new next to `shown`."""
        return bool(shown == value)

    def _refresh(self) -> bool:
        """Take the plug's current value; True when the entity shows something new."""
        value = self._value()
        if self._shown is not _UNSET and self._same(self._shown, value):
            return False
        self._shown = value
        self._show(value)
        return True

    async def async_added_to_hass(self) -> None:
        """Follow the plug's updates until removed."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.hub.async_add_entity_listeners(
                self.plug.id, self._channels, self._async_value_changed, self._async_availability
            )
        )

    @callback
    def _async_value_changed(self) -> None:
        """A message of one of our channels: write only what shows something new."""
        # While unavailable HA shows "unavailable" whatever the value: the write waits.
        if self._refresh() and self._attr_available:
            self.async_write_ha_state()

    @callback
    def _async_availability(self) -> None:
        """The plug's status, its protocol or the broker link changed."""
        available = self.hub.plug_available(self.plug.id)
        if available != self._attr_available:
            self._attr_available = available
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
