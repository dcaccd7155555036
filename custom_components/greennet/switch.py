"""The relay of a GreenNet plug; state comes from the plug, never assumed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

# Commands go to different plugs independently; no need to serialize them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetSwitchDescription(SwitchEntityDescription):
    """A switch and how to read it from the plug's state."""

    value_fn: Callable[[PlugState], bool | None]


SWITCHES: tuple[GreenNetSwitchDescription, ...] = (
    GreenNetSwitchDescription(
        key="relay",
        translation_key="relay",  # icons; the main feature takes the device's name
        name=None,
        device_class=SwitchDeviceClass.OUTLET,
        value_fn=lambda plug: plug.relay,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the relay switch of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [GreenNetSwitch(hub, plug, description) for description in SWITCHES]

    async_setup_plug_entities(entry, async_add_entities, factory)


class GreenNetSwitch(GreenNetEntity, SwitchEntity):
    """The relay: commands go out on `relay/set`, state comes back on `relay`."""

    entity_description: GreenNetSwitchDescription
    _channels = frozenset({p.Channel.RELAY, p.Channel.TELEMETRY})

    def _show(self, value: bool | None) -> None:
        self._attr_is_on = value

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Close the relay and wait for the plug to confirm."""
        await self.hub.async_set_relay(self.plug.id, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Open the relay and wait for the plug to confirm."""
        await self.hub.async_set_relay(self.plug.id, False)
