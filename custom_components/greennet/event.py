"""Event entities of a GreenNet plug: overload trips, sensor faults and button presses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.event import (
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .const import LOGGER
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetEventDescription(EventEntityDescription):
    """Which plug events an entity shows and how they map to its event types."""

    plug_event: p.EventType
    type_fn: Callable[[p.PlugEvent], str]


EVENTS: tuple[GreenNetEventDescription, ...] = (
    GreenNetEventDescription(
        key="overload",
        translation_key="overload",
        plug_event=p.EventType.OVERLOAD_TRIP,
        event_types=["overload_trip"],
        type_fn=lambda event: "overload_trip",
    ),
    GreenNetEventDescription(
        key="sensor_fault",
        translation_key="sensor_fault",
        plug_event=p.EventType.SENSOR_FAULT,
        event_types=["sensor_fault"],
        type_fn=lambda event: "sensor_fault",
    ),
    GreenNetEventDescription(
        key="button",
        translation_key="button",
        device_class=EventDeviceClass.BUTTON,
        plug_event=p.EventType.BUTTON,
        event_types=["single", "double", "long"],
        type_fn=lambda event: str(event.data.get("action", "single")),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entities of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [GreenNetEvent(hub, plug, description) for description in EVENTS]

    async_setup_plug_entities(entry, async_add_entities, factory)


class GreenNetEvent(GreenNetEntity, EventEntity):
    """Fires when the plug publishes a matching event."""

    entity_description: GreenNetEventDescription
    _channels = frozenset({p.Channel.EVENT})

    @callback
    def async_plug_value_changed(self) -> None:
        """Trigger on the plug's event if it is one of ours."""
        event = self.plug.last_event
        if event is None or event.type != self.entity_description.plug_event:
            return
        event_type = self.entity_description.type_fn(event)
        if event_type not in self.event_types:
            LOGGER.debug("Ignored %s event with unknown type %s", self.plug.id, event_type)
            return
        self._trigger_event(event_type, dict(event.data))
        self.async_write_ha_state()
