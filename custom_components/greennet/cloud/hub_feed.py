"""What the link tells the cloud about the hub: samples, the plug list and plug states."""

from __future__ import annotations

import time

from .. import protocol as p
from ..hub import GreenNetHub
from ..models import PlugState
from .commands import plug_report
from .protocol import DeviceEntry, PlugStateReport, Sample


def now_ms() -> int:
    """Wall-clock Unix milliseconds."""
    return int(time.time() * 1000)


def telemetry_sample(plug: PlugState, telemetry: p.Telemetry) -> Sample:
    """A sample for the backlog; the plug's own `ts`, or now while its clock is unsynced."""
    return (
        plug.id,
        telemetry.ts if telemetry.ts is not None else now_ms(),
        telemetry.power,
        telemetry.voltage,
        telemetry.current,
        telemetry.energy,
        telemetry.relay,
    )


def device_list(hub: GreenNetHub) -> list[DeviceEntry]:
    """Every plug the hub shows as a device (identity known, protocol understood)."""
    return [
        DeviceEntry(
            plug_id=plug.id,
            name=plug.info.name,
            model=plug.info.model,
            sw_version=plug.info.sw_version,
            online=hub.plug_available(plug.id),
        )
        for plug in sorted(hub.plugs.values(), key=lambda plug: plug.id)
        if plug.info is not None and plug.supported
    ]


def state_report(hub: GreenNetHub, plug: PlugState) -> PlugStateReport:
    """The `state` a plug is in now (limits left out: `state` carries relay/online/trip)."""
    report = plug_report(hub, plug)
    return PlugStateReport(report.plug_id, report.online, report.relay, report.tripped)
