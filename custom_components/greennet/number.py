"""Settings of a GreenNet plug as numbers: protection limits and reporting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfElectricCurrent, UnitOfPower, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

# Commands go to different plugs independently; no need to serialize them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetNumberDescription(NumberEntityDescription):
    """A plug setting: how to read it and how to send a new value."""

    value_fn: Callable[[PlugState], float | None]
    set_fn: Callable[[GreenNetHub, str, float], Awaitable[None]]


def _protection(read: Callable[[p.Protection], float]) -> Callable[[PlugState], float | None]:
    return lambda plug: None if plug.protection is None else read(plug.protection)


def _config(read: Callable[[p.PlugConfig], float]) -> Callable[[PlugState], float | None]:
    return lambda plug: None if plug.config is None else read(plug.config)


NUMBERS: tuple[GreenNetNumberDescription, ...] = (
    GreenNetNumberDescription(
        key="max_power",
        translation_key="max_power",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=p.MAX_POWER_RANGE[0],
        native_max_value=p.MAX_POWER_RANGE[1],
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_protection(lambda pr: pr.max_power),
        set_fn=lambda hub, plug_id, value: hub.async_set_protection(
            plug_id, p.ProtectionCommand(max_power=value)
        ),
    ),
    GreenNetNumberDescription(
        key="max_current",
        translation_key="max_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=p.MAX_CURRENT_RANGE[0],
        native_max_value=p.MAX_CURRENT_RANGE[1],
        native_step=0.1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_protection(lambda pr: pr.max_current),
        set_fn=lambda hub, plug_id, value: hub.async_set_protection(
            plug_id, p.ProtectionCommand(max_current=value)
        ),
    ),
    GreenNetNumberDescription(
        key="interval",
        translation_key="interval",
        device_class=NumberDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        native_min_value=p.INTERVAL_RANGE[0],
        native_max_value=p.INTERVAL_RANGE[1],
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_config(lambda c: c.interval),
        set_fn=lambda hub, plug_id, value: hub.async_set_config(
            plug_id, p.ConfigCommand(interval=round(value))
        ),
    ),
    GreenNetNumberDescription(
        key="deadband",
        translation_key="deadband",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=p.DEADBAND_RANGE[0],
        native_max_value=p.DEADBAND_RANGE[1],
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        value_fn=_config(lambda c: c.deadband),
        set_fn=lambda hub, plug_id, value: hub.async_set_config(
            plug_id, p.ConfigCommand(deadband=value)
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the setting numbers of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [GreenNetNumber(hub, plug, description) for description in NUMBERS]

    async_setup_plug_entities(entry, async_add_entities, factory)


class GreenNetNumber(GreenNetEntity, NumberEntity):
    """A setting the plug reports (retained) and obeys (`*/set`)."""

    entity_description: GreenNetNumberDescription
    _channels = frozenset({p.Channel.PROTECTION, p.Channel.CONFIG})

    def _value(self) -> float | None:
        return self.entity_description.value_fn(self.plug)

    def _show(self, value: float | None) -> None:
        self._attr_native_value = value

    async def async_set_native_value(self, value: float) -> None:
        """Send the new value; the state follows when the plug confirms."""
        await self.entity_description.set_fn(self.hub, self.plug.id, value)
