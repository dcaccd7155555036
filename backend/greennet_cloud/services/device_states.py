"""Device state as the linked HA hub reports it (relay, trip, online): stored on the device,
then published on the process bus for live views.

Bus channel `greennet_device_state` (`CHANNEL`), one message per stored change, in every
process: `{"home_id", "device_id", "plug_id", "online", "relay", "tripped", "ts"}` with
`relay` `"ON"`/`"OFF"`/null, `online` and `tripped` booleans or null (null: not reported),
`ts` Unix ms of the report. A subscriber (the live websocket) decides who may see it from
`home_id`/`device_id`; the message carries nothing a reader of the device may not see.

A remote command's confirmed state is stored with its result (`link.remote`), and the hub
reports the same change as a `state` of its own, a few milliseconds apart and in either
order. Whichever comes second and only repeats what the first stored is neither written
nor published again: the command's result writes only fields that differ, and a hub report
repeating the state stored at most `REPEAT_WINDOW` before it is skipped (so is one older
than the stored state, as before). A repeat later than that is stored, so `state_at` (how
recently the hub vouched for the plug being online) still moves on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..bus import Bus, BusError, Message
from ..clock import Clock
from ..db.engine import autocommit
from ..models import Device, DeviceState
from ..storage import device_states as state_store
from .base import Service

_LOGGER = logging.getLogger(__name__)
CHANNEL = "greennet_device_state"
MAX_AHEAD = timedelta(seconds=300)  # a hub clock may run a little fast, not more
# a report repeating the state stored this recently is not stored again (module doc)
REPEAT_WINDOW = timedelta(seconds=5)


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

    async def report_one(self, item: StateReport) -> bool:
        """Store and publish one report of a device as read just before: nothing is written
        when the stored state is newer (the update would change nothing) or when the report
        repeats the stored state of moments ago (`REPEAT_WINDOW`: the plug confirming a
        remote command whose result stored that state already). Whether it was stored."""
        if _superseded(item):
            return False
        async with autocommit(self.engine).begin() as conn:
            stored = await self.store(conn, [item])
        await self.publish(stored)
        return bool(stored)

    @staticmethod
    async def store(
        conn: AsyncConnection, reports: list[StateReport], *, changes_only: bool = False
    ) -> list[StateReport]:
        """Store reports inside the caller's transaction; `publish` what it returns after
        the commit. `changes_only`: a device whose stored fields already have the reported
        values is left as it is (and not returned)."""
        stored: list[StateReport] = []
        for item in reports:
            if await state_store.update_state(
                conn,
                item.device.home_id,
                item.device.id,
                item.state,
                item.at,
                changes_only=changes_only,
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


def _superseded(item: StateReport) -> bool:
    """Whether storing `item` would change nothing worth a write: the device (as read just
    before) holds a newer report, or these very values from at most `REPEAT_WINDOW` ago."""
    device, state = item.device, item.state
    if device.state_at is None:
        return False
    if device.state_at > item.at:
        return True  # update_state would skip it as older
    repeats = (
        (state.online is None or state.online == device.reported_online)
        and (state.relay is None or state.relay == device.relay)
        and (state.tripped is None or state.tripped == device.tripped)
    )
    return repeats and item.at - device.state_at <= REPEAT_WINDOW
