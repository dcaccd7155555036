"""History of one device: raw samples or rollups over a range, and CSV export.

Who may read: the owner, and anyone with a share of the device or its home (guests too);
everybody else gets `NotFound`, exactly as for the device itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..db.engine import reading
from ..errors import InvalidInput
from ..models import Device, Sample
from ..storage import history as history_store
from ..storage.history import ROLLUPS, RollupPoint
from .base import Principal, Service
from .devices import visible_device

RESOLUTIONS = ("auto", "raw", "1m", "1h", "1d")
AUTO_POINTS = 1000  # `auto` picks the finest resolution that stays at or under this
MAX_POINTS = 10_000  # one answer holds at most this many; page with `from`, or use CSV
CSV_CHUNK = 2_000  # rows per database read while streaming CSV
# nominal step of each resolution; raw samples come at most once a second
STEP_MS = {"raw": 1_000, "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000}


@dataclass(frozen=True, slots=True)
class History:
    """What the history route answers: raw samples or rollup points, never both."""

    device: Device
    resolution: str
    start: int
    end: int
    samples: list[Sample]
    points: list[RollupPoint]
    truncated: bool  # more points exist after the last one returned


def choose_resolution(resolution: str, start: int, end: int) -> str:
    """The resolution to answer with: `auto` is the finest with at most ~1,000 points."""
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution must be one of {', '.join(RESOLUTIONS)}", "invalid_input")
    if resolution != "auto":
        return resolution
    span = max(0, end - start)
    for name in ("raw", "1m", "1h"):
        if span <= AUTO_POINTS * STEP_MS[name]:
            return name
    return "1d"


class Histories(Service):
    """Reading a device's telemetry back."""

    async def history(
        self, principal: Principal, device_id: str, start: int, end: int, resolution: str
    ) -> History:
        """Samples or rollup points of a device the caller may read, in [start, end)."""
        chosen = choose_resolution(resolution, start, end)
        async with reading(self.engine).begin() as conn:
            device, _access = await visible_device(conn, principal, device_id)
            samples: list[Sample] = []
            points: list[RollupPoint] = []
            if chosen == "raw":
                samples = await history_store.raw_samples(
                    conn, device.seq, start, end, MAX_POINTS + 1
                )
                truncated = len(samples) > MAX_POINTS
                samples = samples[:MAX_POINTS]
            else:
                points = await history_store.rollup_points(
                    conn, chosen, device.seq, start, end, MAX_POINTS + 1
                )
                truncated = len(points) > MAX_POINTS
                points = points[:MAX_POINTS]
        return History(device, chosen, start, end, samples, points, truncated)

    async def csv_rows(
        self, principal: Principal, device_id: str, start: int, end: int, resolution: str
    ) -> tuple[Device, str, AsyncIterator[list[Sample] | list[RollupPoint]]]:
        """The device, the resolution and chunks of rows for a CSV export of any length.

        Access is checked now (so the route can answer 404 before it starts streaming);
        each chunk is read in its own short transaction, so memory and locks stay flat.
        """
        chosen = choose_resolution(resolution, start, end)
        if chosen == "auto":
            chosen = "raw"
        async with reading(self.engine).begin() as conn:
            device, _access = await visible_device(conn, principal, device_id)
        return device, chosen, self._chunks(device.seq, chosen, start, end)

    async def _chunks(
        self, seq: int, resolution: str, start: int, end: int
    ) -> AsyncIterator[list[Sample] | list[RollupPoint]]:
        cursor = start
        while cursor < end:
            rows: list[Sample] | list[RollupPoint]
            async with reading(self.engine).begin() as conn:
                if resolution == "raw":
                    samples = await history_store.raw_samples(conn, seq, cursor, end, CSV_CHUNK)
                    rows, last = samples, samples[-1].ts if samples else end
                else:
                    points = await history_store.rollup_points(
                        conn, resolution, seq, cursor, end, CSV_CHUNK
                    )
                    rows, last = points, points[-1].bucket if points else end
            if not rows:
                return
            yield rows
            if len(rows) < CSV_CHUNK:
                return
            cursor = last + (1 if resolution == "raw" else ROLLUPS[resolution][1])
