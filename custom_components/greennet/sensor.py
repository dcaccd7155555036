"""Measurement sensors of a GreenNet plug (pushed by the hub)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import protocol as p
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GreenNetSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from the plug's state."""

    value_fn: Callable[[PlugState], float | int | None]
    # Seeds the hub's energy filter with the value shown before HA restarted.
    restores_energy: bool = False


type _Reader = Callable[[PlugState], float | int | None]


def _telemetry(read: Callable[..., float | int | None]) -> _Reader:
    return lambda plug: None if plug.telemetry is None else read(plug.telemetry)


SENSORS: tuple[GreenNetSensorDescription, ...] = (
    GreenNetSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=1,
        value_fn=_telemetry(lambda t: t.power),
    ),
    GreenNetSensorDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        value_fn=_telemetry(lambda t: t.voltage),
    ),
    GreenNetSensorDescription(
        key="current",
        translation_key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=3,
        value_fn=_telemetry(lambda t: t.current),
    ),
    GreenNetSensorDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda plug: plug.energy,
        restores_energy=True,
    ),
    GreenNetSensorDescription(
        key="rssi",
        translation_key="rssi",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_telemetry(lambda t: t.rssi),
    ),
    GreenNetSensorDescription(
        key="uptime",
        translation_key="uptime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_telemetry(lambda t: t.uptime),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GreenNetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every plug, now and as plugs appear."""

    def factory(hub: GreenNetHub, plug: PlugState) -> list[GreenNetEntity]:
        return [
            (GreenNetEnergySensor if description.restores_energy else GreenNetSensor)(
                hub, plug, description
            )
            for description in SENSORS
        ]

    async_setup_plug_entities(entry, async_add_entities, factory)


class GreenNetSensor(GreenNetEntity, SensorEntity):
    """A measured value of a plug."""

    entity_description: GreenNetSensorDescription
    _channels = frozenset({p.Channel.TELEMETRY})

    @property
    def native_value(self) -> float | int | None:
        """The value from the latest report."""
        return self.entity_description.value_fn(self.plug)


class GreenNetEnergySensor(GreenNetSensor, RestoreSensor):
    """The lifetime meter, continued across Home Assistant restarts."""

    async def async_added_to_hass(self) -> None:
        """Hand the last value shown to the hub's monotonic filter, then follow the plug."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float):
            self.plug.restore_energy(float(last.native_value))
