"""Problem sensors of a GreenNet plug."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
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


class GreenNetBinarySensor(GreenNetEntity, BinarySensorEntity):
    """On while the plug reports a problem (e.g. protection tripped)."""

    entity_description: GreenNetBinarySensorDescription
    _channels = frozenset({p.Channel.PROTECTION})

    def _value(self) -> bool | None:
        return self.entity_description.value_fn(self.plug)

    def _show(self, value: bool | None) -> None:
        self._attr_is_on = value
