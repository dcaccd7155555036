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
from .const import DEFAULT_CURRENT_CEILING, DEFAULT_POWER_CEILING
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

# Commands go to different plugs independently; no need to serialize them.
PARALLEL_UPDATES = 0


# (value, highest value the plug accepts): what a number shows and its range's top.
type NumberReading = tuple[float | None, float]


@dataclass(frozen=True, kw_only=True)
class GreenNetNumberDescription(NumberEntityDescription):
    """A plug setting: how to read it (with its maximum) and how to send a new value."""

    value_fn: Callable[[PlugState], NumberReading]
    set_fn: Callable[[GreenNetHub, str, float], Awaitable[None]]


def _limit(
    read: Callable[[p.Protection], float],
    ceiling: Callable[[p.Protection], float | None],
    default: float,
) -> Callable[[PlugState], NumberReading]:
    """A protection limit, up to the ceiling the plug reports (`default` when it has none).

    A plug clamps limits to what its meter measures (docs/protocol.md): offering more
    would only get the value cut back. The limit in use always lies within the range.
    """

    def reading(plug: PlugState) -> NumberReading:
        if plug.protection is None:
            return (None, default)
        value = read(plug.protection)
        top = ceiling(plug.protection)
        return (value, max(default if top is None else top, value))

    return reading


def _config(
    read: Callable[[p.PlugConfig], float], top: float
) -> Callable[[PlugState], NumberReading]:
    return lambda plug: (None if plug.config is None else read(plug.config), top)


NUMBERS: tuple[GreenNetNumberDescription, ...] = (
    GreenNetNumberDescription(
        key="max_power",
        translation_key="max_power",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=p.MAX_POWER_RANGE[0],
        native_max_value=DEFAULT_POWER_CEILING,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_limit(
            lambda pr: pr.max_power, lambda pr: pr.power_ceiling, DEFAULT_POWER_CEILING
        ),
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
        native_max_value=DEFAULT_CURRENT_CEILING,
        native_step=0.1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=_limit(
            lambda pr: pr.max_current, lambda pr: pr.current_ceiling, DEFAULT_CURRENT_CEILING
        ),
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
        # Set once per installation (the entry's default) and rarely per plug.
        entity_registry_enabled_default=False,
        value_fn=_config(lambda c: c.interval, p.INTERVAL_RANGE[1]),
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
        value_fn=_config(lambda c: c.deadband, p.DEADBAND_RANGE[1]),
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

    def _show(self, value: NumberReading) -> None:
        self._attr_native_value, self._attr_native_max_value = value

    async def async_set_native_value(self, value: float) -> None:
        """Send the new value; the state follows when the plug confirms."""
        await self.entity_description.set_fn(self.hub, self.plug.id, value)
