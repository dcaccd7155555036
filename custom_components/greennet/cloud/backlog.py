"""Samples on their way to GreenNet Cloud: a bounded queue that survives restarts.

Every telemetry sample passes through here. A batch taken for sending stays "in flight" until
the cloud acknowledges it, so a sample leaves only when the cloud has it. The whole content
(in-flight batches first, then the queue) is saved with HA's `Store`, at most once per
`BACKLOG_SAVE_DELAY` and at shutdown, never per sample. When full, the oldest samples are
dropped and counted; a repair issue says how many.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from ..const import DOMAIN, LOGGER
from . import const
from .const import BACKLOG_STORAGE_VERSION, ISSUE_BACKLOG_OVERFLOW
from .protocol import Sample, is_sample

# Overflow is reported to the issue registry at most this often (s).
_ISSUE_REPORT_DELAY = 1.0


def overflow_issue_id(entry_id: str) -> str:
    """The repair issue of one entry's backlog overflow."""
    return f"{ISSUE_BACKLOG_OVERFLOW}_{entry_id}"


class TelemetryBacklog:
    """Queued and in-flight samples of one linked hub."""

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str) -> None:
        """Empty until `async_load`."""
        self.hass = hass
        self.entry_id = entry_id
        self.title = title
        self.max_samples = const.BACKLOG_MAX_SAMPLES
        self._store: Store[dict[str, Any]] = Store(
            hass, BACKLOG_STORAGE_VERSION, f"{DOMAIN}.cloud_backlog.{entry_id}"
        )
        self._queue: deque[Sample] = deque()
        self._in_flight: dict[int, list[Sample]] = {}  # seq -> batch, in sending order
        self._in_flight_count = 0
        self.next_seq = 1
        self.dropped = 0  # shown in the repair issue (since it was raised)
        self._drops_unreported = 0
        self._save_pending = False
        self._report_handle: Any = None

    def __len__(self) -> int:
        """Samples the cloud does not have yet (queued and in flight)."""
        return len(self._queue) + self._in_flight_count

    @property
    def queued(self) -> int:
        """Samples waiting to be sent."""
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        """Batches sent and not acknowledged yet."""
        return len(self._in_flight)

    # --- persistence ------------------------------------------------------------

    async def async_load(self) -> None:
        """Take what an earlier run left (in-flight samples first: they are the oldest)."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        rows = stored.get("samples")
        rows = rows if isinstance(rows, list) else []
        good = [tuple(row) for row in rows if is_sample(row)]
        if len(good) != len(rows):
            LOGGER.warning(
                "Dropped %d unreadable samples from the stored cloud backlog of %s",
                len(rows) - len(good),
                self.title,
            )
        self._queue.extend(good)
        seq = stored.get("seq")
        if isinstance(seq, int) and seq > 0:
            self.next_seq = seq
        dropped = stored.get("dropped")
        if isinstance(dropped, int) and dropped > 0:
            self.dropped = dropped
        if self._queue:
            LOGGER.info("%d samples wait for GreenNet Cloud (%s)", len(self._queue), self.title)

    def _snapshot(self) -> dict[str, Any]:
        """What the store writes: called by the Store at write time (cheap copy)."""
        self._save_pending = False
        samples: list[Sample] = [s for batch in self._in_flight.values() for s in batch]
        samples.extend(self._queue)
        return {
            "seq": self.next_seq,
            "dropped": self.dropped + self._drops_unreported,
            "samples": samples,
        }

    @callback
    def _schedule_save(self) -> None:
        # One write per delay however many samples arrive (Store would postpone it per call).
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._snapshot, const.BACKLOG_SAVE_DELAY)

    async def async_save(self) -> None:
        """Write now (unload, unlink)."""
        await self._store.async_save(self._snapshot())

    async def async_remove(self) -> None:
        """Forget everything, on disk too (unlinked)."""
        self._queue.clear()
        self._in_flight.clear()
        self._in_flight_count = 0
        self._cancel_report()
        await self._store.async_remove()
        ir.async_delete_issue(self.hass, DOMAIN, overflow_issue_id(self.entry_id))

    # --- samples ----------------------------------------------------------------

    @callback
    def append(self, sample: Sample) -> None:
        """Queue a sample; beyond the bound, the oldest queued one is dropped and counted."""
        self._queue.append(sample)
        excess = len(self) - self.max_samples
        if excess > 0:
            removed = min(excess, len(self._queue))
            for _ in range(removed):
                self._queue.popleft()
            self._dropped(removed)
        self._schedule_save()

    @callback
    def take(self, limit: int) -> tuple[int, list[Sample]] | None:
        """The next batch (oldest first) and its sequence number; it stays until acknowledged."""
        if not self._queue:
            return None
        count = min(limit, len(self._queue))
        batch = [self._queue.popleft() for _ in range(count)]
        seq = self.next_seq
        self.next_seq += 1
        self._in_flight[seq] = batch
        self._in_flight_count += count
        self._schedule_save()
        return seq, batch

    @callback
    def acknowledge(self, seq: int) -> int:
        """The cloud has batch `seq`: drop it; returns how many samples it held (0: unknown)."""
        batch = self._in_flight.pop(seq, None)
        if batch is None:
            return 0
        self._in_flight_count -= len(batch)
        self._schedule_save()
        return len(batch)

    @callback
    def refuse(self, seq: int) -> int:
        """The cloud refused batch `seq` as a whole: it would be refused again, so drop it."""
        count = self.acknowledge(seq)
        if count:
            self._dropped(count)
        return count

    @callback
    def requeue(self) -> None:
        """The connection ended: unacknowledged batches go back to the head, in order."""
        for seq in sorted(self._in_flight, reverse=True):
            self._queue.extendleft(reversed(self._in_flight[seq]))
        self._in_flight.clear()
        self._in_flight_count = 0

    # --- overflow ---------------------------------------------------------------

    def _dropped(self, count: int) -> None:
        self._drops_unreported += count
        if self._report_handle is None:
            self._report_handle = self.hass.loop.call_later(_ISSUE_REPORT_DELAY, self._report_drops)

    def _cancel_report(self) -> None:
        if self._report_handle is not None:
            self._report_handle.cancel()
            self._report_handle = None

    @callback
    def _report_drops(self) -> None:
        """Raise (or raise the count of) the overflow repair issue."""
        self._report_handle = None
        issue_id = overflow_issue_id(self.entry_id)
        if ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id) is None:
            self.dropped = 0  # the user dismissed the last report: count afresh
        self.dropped += self._drops_unreported
        LOGGER.warning(
            "GreenNet Cloud backlog of %s is full: dropped %d oldest samples (%d in all)",
            self.title,
            self._drops_unreported,
            self.dropped,
        )
        self._drops_unreported = 0
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BACKLOG_OVERFLOW,
            translation_placeholders={
                "hub": self.title,
                "dropped": str(self.dropped),
                "limit": str(self.max_samples),
            },
            data={"entry_id": self.entry_id},
        )
        self._schedule_save()

    @callback
    def async_shutdown(self) -> None:
        """Report pending drops at once (unload) so no count is lost."""
        if self._report_handle is not None:
            self._cancel_report()
            self._report_drops()
