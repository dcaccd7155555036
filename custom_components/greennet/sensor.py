"""Measurement sensors of a GreenNet plug (pushed by the hub)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter

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
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import protocol as p
from .entity import GreenNetEntity, async_setup_plug_entities
from .hub import GreenNetConfigEntry, GreenNetHub
from .models import PlugState

PARALLEL_UPDATES = 0


type SensorValue = StateType | date | datetime | Decimal

# A computed restart time moving less than this is clock jitter, not a restart.
RESTART_JITTER = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True)
class GreenNetSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from the plug's state."""

    value_fn: Callable[[PlugState], SensorValue]
    # (shown, new) -> True when `new` only jitters around `shown`: keep showing `shown`.
    same_fn: Callable[[SensorValue, SensorValue], bool] | None = None
    # Seeds the hub's energy filter with the value shown before HA restarted.
    restores_energy: bool = False


type _Reader = Callable[[PlugState], SensorValue]


def _telemetry(read: Callable[[p.Telemetry], SensorValue]) -> _Reader:
    return lambda plug: None if plug.telemetry is None else read(plug.telemetry)


def _reading(field: str) -> _Reader:
    """One field of the last report (read in C: this runs for every report)."""
    read = attrgetter(field)
    return lambda plug: None if plug.telemetry is None else read(plug.telemetry)


def _last_restart(telemetry: p.Telemetry) -> datetime | None:
    """When the plug booted: its report time (its own clock when synced) minus its uptime."""
    if telemetry.uptime is None:
        return None
    if telemetry.ts is not None:
        reported = dt_util.utc_from_timestamp(telemetry.ts / 1000)
    else:
        reported = dt_util.utcnow()
    return (reported - timedelta(seconds=telemetry.uptime)).replace(microsecond=0)


def _same_restart(shown: SensorValue, new: SensorValue) -> bool:
    return (
        isinstance(shown, datetime)
        and isinstance(new, datetime)
        and abs(new - shown) < RESTART_JITTER
    )


SENSORS: tuple[GreenNetSensorDescription, ...] = (
    GreenNetSensorDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=1,
        value_fn=_reading("power"),
    ),
    GreenNetSensorDescription(
        key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        value_fn=_reading("voltage"),
    ),
    GreenNetSensorDescription(
        key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=3,
        value_fn=_reading("current"),
    ),
    GreenNetSensorDescription(
        key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda plug: plug.energy,
        restores_energy=True,
    ),
    GreenNetSensorDescription(
        key="rssi",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_reading("rssi"),
    ),
    GreenNetSensorDescription(
        key="last_restart",
        translation_key="last_restart",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_telemetry(_last_restart),
        same_fn=_same_restart,
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

    def _show(self, value: SensorValue) -> None:
        self._attr_native_value = value


class GreenNetEnergySensor(GreenNetSensor, RestoreSensor):
    """The lifetime meter, continued across Home Assistant restarts."""

    async def async_added_to_hass(self) -> None:
        """Hand the last value shown to the hub's monotonic filter, then follow the plug."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float):
            self.plug.restore_energy(float(last.native_value))
            self._refresh()
