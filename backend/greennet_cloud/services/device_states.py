"""Device state as the linked HA hub reports it (relay, trip, online): stored on the device,
then published on the process bus for live views.

Bus channel `greennet_device_state` (`CHANNEL`), one message per stored change, in every
process: `{"home_id", "device_id", "plug_id", "online", "relay", "tripped", "ts"}` with
`relay` `"ON"`/`"OFF"`/null, `online` and `tripped` booleans or null (null: not reported),
`ts` Unix ms of the report. A subscriber (the live websocket) decides who may see it from
`home_id`/`device_id`; the message carries nothing a reader of the device may not see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..bus import Bus, BusError, Message
from ..clock import Clock
from ..models import Device, DeviceState
from ..storage import device_states as state_store
from .base import Service

_LOGGER = logging.getLogger(__name__)
CHANNEL = "greennet_device_state"
MAX_AHEAD = timedelta(seconds=300)  # a hub clock may run a little fast, not more


@dataclass(frozen=True, slots=True)
class StateReport:
    """One device's reported state at a moment."""

    device: Device
    state: DeviceState
    at: datetime


def state_message(report: StateReport) -> Message:
    """The bus message for a stored report (see the module doc)."""
    relay = report.state.relay
    return {
        "home_id": report.device.home_id,
        "device_id": report.device.id,
        "plug_id": report.device.plug_id,
        "online": report.state.online,
        "relay": None if relay is None else ("ON" if relay else "OFF"),
        "tripped": report.state.tripped,
        "ts": int(report.at.timestamp() * 1000),
    }


class DeviceStates(Service):
    """Store what a hub reports about its plugs and tell every process."""

    def __init__(self, engine: AsyncEngine, clock: Clock, bus: Bus) -> None:
        super().__init__(engine, clock)
        self.bus = bus

    def moment(self, ts_ms: int | None) -> datetime:
        """When a report happened: its `ts`, never later than a little past now."""
        now = self.now()
        if ts_ms is None:
            return now
        at = datetime.fromtimestamp(ts_ms / 1000, now.tzinfo)
        return min(at, now + MAX_AHEAD)

    async def report(self, reports: list[StateReport]) -> int:
        """Store reports (one transaction; an older report than the stored one is skipped)
        and publish each stored one. Returns how many were stored."""
        if not reports:
            return 0
        async with self.engine.begin() as conn:
            stored = await self.store(conn, reports)
        await self.publish(stored)
        return len(stored)

    @staticmethod
    async def store(conn: AsyncConnection, reports: list[StateReport]) -> list[StateReport]:
        """Store reports inside the caller's transaction; `publish` what it returns after
        the commit."""
        stored: list[StateReport] = []
        for item in reports:
            if await state_store.update_state(
                conn, item.device.home_id, item.device.id, item.state, item.at
            ):
                stored.append(item)
        return stored

    async def publish(self, stored: list[StateReport]) -> None:
        """Tell every process about stored reports (best effort, like the whole bus)."""
        for item in stored:
            try:
                await self.bus.publish(CHANNEL, state_message(item))
            except BusError as err:
                _LOGGER.warning("device state not published (%s); live views catch up", err)
