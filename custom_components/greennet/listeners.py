"""Who hears what from the hub: entities per plug and channel, and whole-hub consumers.

Entities register for the channels their value comes from and for their plug's
availability, so a telemetry report reaches the four measurement sensors and the relay
switch of its plug and nothing else. Consumers of whole plugs (the cloud link follows each
plug it announced) and of the whole hub get a `PlugUpdate` for every parsed message; the
update is only built while one listens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from homeassistant.core import CALLBACK_TYPE

from .models import PlugState, PlugUpdate
from .protocol import Channel, PlugEvent

type EntityCallback = Callable[[], None]
type UpdateListener = Callable[[PlugUpdate], None]
# one plug's updates, and None when its availability may have changed
type PlugListener = Callable[[PlugUpdate | None], None]
type NewPlugListener = Callable[[PlugState], None]


class PlugEntity(Protocol):
    """An entity fed by the hub: registered itself (no bound methods, no closure kept per
    entity: a plug has a dozen entities, an installation hundreds of plugs)."""

    def async_plug_value_changed(self) -> None:
        """A message of one of the entity's channels changed its plug."""

    def async_plug_availability_changed(self) -> None:
        """The plug's availability may have changed."""


def _remover[T](registry: list[T], item: T) -> CALLBACK_TYPE:
    """Remove `item` from `registry` once; safe after the registry was emptied."""

    def remove() -> None:
        if item in registry:
            registry.remove(item)

    return remove


def _discard[K, T](registries: dict[K, list[T]], key: K, item: T) -> None:
    """Remove `item` from `registries[key]`, and the key once its list is empty."""
    registry = registries.get(key)
    if registry is not None and item in registry:
        registry.remove(item)
        if not registry:
            del registries[key]


class PlugListeners:
    """The callbacks of one hub, indexed the way messages arrive."""

    def __init__(self) -> None:
        """Nobody listens yet."""
        self._channels: dict[tuple[str, Channel], list[PlugEntity]] = {}
        self._entities: dict[str, list[PlugEntity]] = {}
        self._availability: dict[str, list[EntityCallback]] = {}
        self._updates: list[UpdateListener] = []
        self._plug_updates: dict[str, list[UpdateListener]] = {}
        self._new_plugs: list[NewPlugListener] = []

    def add_entity(self, plug_id: str, channels: Iterable[Channel], entity: PlugEntity) -> None:
        """Tell `entity` after each message of these channels of one plug, and whenever the
        plug's availability may have changed, until `remove_entity`."""
        for channel in channels:
            self._channels.setdefault((plug_id, channel), []).append(entity)
        self._entities.setdefault(plug_id, []).append(entity)

    def remove_entity(self, plug_id: str, channels: Iterable[Channel], entity: PlugEntity) -> None:
        """Stop telling `entity`; safe to call twice, and after the registries were emptied."""
        for key in [(plug_id, channel) for channel in channels]:
            _discard(self._channels, key, entity)
        _discard(self._entities, plug_id, entity)

    def add_availability(self, plug_id: str, listener: EntityCallback) -> CALLBACK_TYPE:
        """Call `listener` whenever the plug's availability may have changed."""
        registry = self._availability.setdefault(plug_id, [])
        registry.append(listener)
        return _remover(registry, listener)

    def add_updates(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` with every parsed message of every plug."""
        self._updates.append(listener)
        return _remover(self._updates, listener)

    def add_plug(self, plug_id: str, listener: PlugListener) -> CALLBACK_TYPE:
        """Call `listener` with every parsed message of one plug, and with None whenever
        its availability may have changed."""
        updates = self._plug_updates.setdefault(plug_id, [])
        updates.append(listener)
        remove_updates = _remover(updates, listener)
        remove_availability = self.add_availability(plug_id, lambda: listener(None))

        def remove() -> None:
            remove_updates()
            remove_availability()

        return remove

    def add_new_plugs(self, listener: NewPlugListener, known: Iterable[PlugState]) -> CALLBACK_TYPE:
        """Call `listener` for every plug in `known` now, and for each new one later."""
        self._new_plugs.append(listener)
        for plug in known:
            listener(plug)
        return _remover(self._new_plugs, listener)

    def channel(self, plug: PlugState, channel: Channel, event: PlugEvent | None = None) -> None:
        """A message of `channel` changed `plug`."""
        # No copy: entities unsubscribe from tasks of their own, never while we call them.
        for entity in self._channels.get((plug.id, channel), ()):
            entity.async_plug_value_changed()
        plug_listeners = self._plug_updates.get(plug.id)
        if self._updates or plug_listeners:
            update = PlugUpdate(plug.id, channel, plug, event)
            for update_listener in [*(plug_listeners or ()), *self._updates]:
                update_listener(update)

    def availability(self, plug_id: str) -> None:
        """The plug's availability may have changed."""
        for entity in list(self._entities.get(plug_id, ())):
            entity.async_plug_availability_changed()
        for listener in list(self._availability.get(plug_id, ())):
            listener()

    def new_plug(self, plug: PlugState) -> None:
        """`plug` announced itself for the first time."""
        for listener in list(self._new_plugs):
            listener(plug)
