"""Base entity of a GreenNet plug: device info, availability, unique id, push updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState
from .protocol import Channel

_UNSET: Final = object()


def _no_value(plug: PlugState) -> Any:
    return None


class GreenNetEntity(Entity):
    """One value or control of one plug, fed by the hub (no polling).

    The value is read with the description's `value_fn` and put into `_attr_*` (which HA
    caches) only when it changed; only then is the state written. A plug's telemetry
    report reaches its sensors and switch once a second each, so that comparison is
    the hot path: one call to read, one to compare, nothing else while nothing changed.
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
        self._attr_device_info = plug.device_info()
        self._attr_available = hub.plug_available(plug.id)
        # (plug) -> value, and (shown, new) -> True when `new` is only jitter around `shown`.
        self._read: Callable[[PlugState], Any] = getattr(description, "value_fn", _no_value)
        self._jitter: Callable[[Any, Any], bool] | None = getattr(description, "same_fn", None)
        self._shown: Any = _UNSET
        self._refresh()

    def _show(self, value: Any) -> None:
        """Put a new value into the `_attr_*` HA reads."""

    def _refresh(self) -> bool:
        """Take the plug's current value; True when the entity shows something new."""
        value = self._read(self.plug)
        shown = self._shown
        if shown is not _UNSET and (
            value == shown or (self._jitter is not None and self._jitter(shown, value))
        ):
            return False
        self._shown = value
        self._show(value)
        return True

    async def async_added_to_hass(self) -> None:
        """Follow the plug's updates until removed."""
        await super().async_added_to_hass()
        # Registered as itself and removed in `async_will_remove_from_hass`: no remover
        # closure and no `async_on_remove` list kept per entity.
        self.hub.async_add_entity(self.plug.id, self._channels, self)

    async def async_will_remove_from_hass(self) -> None:
        """Stop following the plug."""
        self.hub.async_remove_entity(self.plug.id, self._channels, self)
        await super().async_will_remove_from_hass()

    @callback
    def async_plug_value_changed(self) -> None:
        """A message of one of our channels: write only what shows something new."""
        # `_refresh` inlined: this runs for every report of every plug.
        value = self._read(self.plug)
        shown = self._shown
        if value == shown or (self._jitter is not None and self._jitter(shown, value)):
            return
        self._shown = value
        self._show(value)
        # While unavailable HA shows "unavailable" whatever the value: the write waits.
        if self._attr_available:
            self.async_write_ha_state()

    @callback
    def async_plug_availability_changed(self) -> None:
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
