"""Who hears what from the hub: entities per plug and channel, and whole-hub consumers.

Entities register for the channels their value comes from and for their plug's
availability, so a telemetry report reaches the four measurement sensors and the relay
switch of its plug and nothing else. Consumers of whole plugs (the cloud link follows each
plug it announced) and of the whole hub get a `PlugUpdate` for every parsed message; the
update is only built while one listens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import CALLBACK_TYPE

from .models import PlugState, PlugUpdate
from .protocol import Channel, PlugEvent

type EntityCallback = Callable[[], None]
type UpdateListener = Callable[[PlugUpdate], None]
# one plug's updates, and None when its availability may have changed
type PlugListener = Callable[[PlugUpdate | None], None]
type NewPlugListener = Callable[[PlugState], None]


def _remover[T](registry: list[T], item: T) -> CALLBACK_TYPE:
    """Remove `item` from `registry` once; safe after the registry was emptied."""

    def remove() -> None:
        if item in registry:
            registry.remove(item)

    return remove


class PlugListeners:
    """The callbacks of one hub, indexed the way messages arrive."""

    def __init__(self) -> None:
        """Nobody listens yet."""
        self._channels: dict[tuple[str, Channel], list[EntityCallback]] = {}
        self._availability: dict[str, list[EntityCallback]] = {}
        self._updates: list[UpdateListener] = []
        self._plug_updates: dict[str, list[UpdateListener]] = {}
        self._new_plugs: list[NewPlugListener] = []

    def add_entity(
        self,
        plug_id: str,
        channels: Iterable[Channel],
        on_value: EntityCallback,
        on_availability: EntityCallback,
    ) -> CALLBACK_TYPE:
        """Call `on_value` after each message of these channels of one plug, and
        `on_availability` whenever its availability may have changed.

        One remover per entity (a plug has a dozen entities, an installation hundreds of
        plugs: what is kept per registration is kept that many times).
        """
        registries = tuple(self._channels.setdefault((plug_id, ch), []) for ch in channels)
        for registry in registries:
            registry.append(on_value)
        availability = self._availability.setdefault(plug_id, [])
        availability.append(on_availability)

        def remove() -> None:
            for registry in registries:
                if on_value in registry:
                    registry.remove(on_value)
            if on_availability in availability:
                availability.remove(on_availability)

        return remove

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
        for listener in self._channels.get((plug.id, channel), ()):
            listener()
        plug_listeners = self._plug_updates.get(plug.id)
        if self._updates or plug_listeners:
            update = PlugUpdate(plug.id, channel, plug, event)
            for update_listener in [*(plug_listeners or ()), *self._updates]:
                update_listener(update)

    def availability(self, plug_id: str) -> None:
        """The plug's availability may have changed."""
        for listener in list(self._availability.get(plug_id, ())):
            listener()

    def new_plug(self, plug: PlugState) -> None:
        """`plug` announced itself for the first time."""
        for listener in list(self._new_plugs):
            listener(plug)
