"""Choice settings of a GreenNet plug: relay state after power loss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

# Commands go to different plugs independently; no need to serialize them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetSelectDescription(SelectEntityDescription):
    """A choice setting: how to read it and how to send a new one."""

    value_fn: Callable[[PlugState], str | None]
    select_fn: Callable[[GreenNetHub, str, str], Awaitable[None]]


SELECTS: tuple[GreenNetSelectDescription, ...] = (
    GreenNetSelectDescription(
        key="restore",
        translation_key="restore",
        options=[str(mode) for mode in p.RestoreMode],
        entity_category=EntityCategory.CONFIG,
        # Chosen once when the plug is installed, rarely changed after.
        entity_registry_enabled_default=False,
        value_fn=lambda plug: None if plug.config is None else str(plug.config.restore),
        select_fn=lambda hub, plug_id, option: hub.async_set_config(
            plug_id, p.ConfigCommand(restore=p.RestoreMode(option))
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the select entities of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [GreenNetSelect(hub, plug, description) for description in SELECTS]

    async_setup_plug_entities(entry, async_add_entities, factory)


class GreenNetSelect(GreenNetEntity, SelectEntity):
    """A setting with fixed choices, reported (retained) and obeyed by the plug."""

    entity_description: GreenNetSelectDescription
    _channels = frozenset({p.Channel.CONFIG})

    def _show(self, value: str | None) -> None:
        self._attr_current_option = value

    async def async_select_option(self, option: str) -> None:
        """Send the new choice; the state follows when the plug confirms."""
        await self.entity_description.select_fn(self.hub, self.plug.id, option)
