"""Typed state the hub keeps per plug, and what it tells listeners."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo

from .const import DOMAIN, ENERGY_DIP_TOLERANCE, MANUFACTURER
from .protocol import Channel, PlugConfig, PlugEvent, PlugInfo, Protection, Telemetry


@dataclass(slots=True)
class PlugState:
    """Everything known about one plug, updated from its MQTT messages."""

    id: str
    info: PlugInfo | None = None
    online: bool | None = None
    telemetry: Telemetry | None = None
    relay: bool | None = None
    protection: Protection | None = None
    config: PlugConfig | None = None
    last_event: PlugEvent | None = None
    # Lifetime energy as shown to HA: rounding dips in the plug are ignored.
    energy: float | None = None
    # The device registry data of `info`, built once and shared by the plug's entities.
    _device: tuple[PlugInfo, DeviceInfo] | None = field(default=None, repr=False, compare=False)

    @property
    def supported(self) -> bool:
        """Whether the plug speaks a protocol version this integration understands."""
        return self.info is not None and self.info.supported

    def device_info(self) -> DeviceInfo:
        """Device registry data of the announced plug: one object for all its entities."""
        assert self.info is not None
        if self._device is None or self._device[0] is not self.info:
            self._device = (self.info, plug_device_info(self.info))
        return self._device[1]

    def restore_energy(self, shown: float) -> None:
        """Seed the filter with the energy HA showed before it restarted.

        A plug's meter that is a rounding step behind it (saved before a power cut) is
        then no meter reset; a report already taken wins unless it is such a dip.
        """
        if self.energy is None or shown - ENERGY_DIP_TOLERANCE <= self.energy < shown:
            self.energy = shown

    def apply_telemetry(self, telemetry: Telemetry) -> None:
        """Take a report; keep energy monotonic across small rounding dips."""
        self.telemetry = telemetry
        new = telemetry.energy
        if self.energy is None or not (self.energy - ENERGY_DIP_TOLERANCE <= new < self.energy):
            self.energy = new


@dataclass(frozen=True, slots=True)
class PlugUpdate:
    """One parsed message: which plug, which channel, and the plug's state after it."""

    plug_id: str
    channel: Channel
    state: PlugState
    event: PlugEvent | None = field(default=None)


def plug_device_info(info: PlugInfo) -> DeviceInfo:
    """Device registry data for a plug (its web UI is on port 80 of its address)."""
    device = DeviceInfo(
        identifiers={(DOMAIN, info.id)},
        connections={(CONNECTION_NETWORK_MAC, info.mac.lower())},
        manufacturer=MANUFACTURER,
        model=info.model,
        name=info.name,
        serial_number=info.id,
        sw_version=info.sw_version,
    )
    if info.hw_version:
        device["hw_version"] = info.hw_version
    if info.ip:
        host = f"[{info.ip}]" if ":" in info.ip else info.ip
        device["configuration_url"] = f"http://{host}/"
    return device
