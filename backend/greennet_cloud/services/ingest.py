"""Telemetry ingest: two ways in, one way to store.

- `from_hub`: a batch from the Home Assistant hub linked to a home (its link token); each
  sample names its plug (`device_id`: the plug id, or the device's cloud id) in that home.
  `from_link` is the same for a `telemetry` message on the hub's websocket (`plug_id`).
- `from_device`: one plug's own request, HMAC-signed with its ingest secret
  (`device_auth.verify_device_request`), checked over the raw body before it is parsed.

Both parse and check every sample on its own (`samples.py`) and hand the good ones to
`store()`, the one function that writes telemetry: idempotent on (device, ts), one
transaction per batch written at the driver level (`storage/telemetry.py`), `last_seen_at`
moved once per device and at most once per `LAST_SEEN_STEP` (not per sample), and the
minutes touched marked for the rollup job. After the commit every `listeners` callback gets one
`DeviceReport` per device (the websocket and alert evaluation attach there).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ..bus import MAX_MESSAGE_BYTES, Bus, to_json
from ..clock import Clock
from ..config import Config
from ..db.checkpoints import BackgroundCheckpoints
from ..db.engine import reading, sqlite_writer
from ..errors import Unauthenticated
from ..models import Device, Sample
from ..protocol import OFF, ON
from ..security.tokens import hash_secret
from ..storage import devices as device_store
from ..storage import links as link_store
from ..storage import telemetry as telemetry_store
from ..storage.telemetry import TelemetryRow
from .base import Service
from .device_auth import verify_device_request
from .devices import Devices
from .samples import ParsedSample, SampleError, decode_body, parse_samples

_LOGGER = logging.getLogger(__name__)
# last_seen_at moves in steps: a plug reporting every second costs a write per 10 s, not 1 s
LAST_SEEN_STEP = timedelta(seconds=10)
LINK_TOUCH_STEP = timedelta(seconds=60)  # link tokens' last_used_at, likewise
LAST_SEEN_MEMORY = 100_000  # devices whose last write this process remembers


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """What one stored batch changed for one device, for post-ingest listeners."""

    device: Device
    latest: Sample  # the newest sample of the batch
    samples: int  # samples of this device in the batch
    came_online: bool  # it had not reported within the offline window before


type IngestListener = Callable[[list[DeviceReport]], Awaitable[None]]

# the bus channel every stored batch is announced on (the websocket and alerts listen)
TELEMETRY_CHANNEL = "greennet_telemetry"


def report_message(report: DeviceReport) -> dict[str, Any]:
    """One device's entry in a bus message: ids, newest values, online."""
    latest = report.latest
    return {
        "id": report.device.id,
        "home_id": report.device.home_id,
        "plug_id": report.device.plug_id,
        "ts": latest.ts,
        "power": latest.power,
        "voltage": latest.voltage,
        "current": latest.current,
        "energy": latest.energy,
        "relay": ON if latest.relay else OFF,
        "online": True,
        "came_online": report.came_online,
    }


def bus_publisher(bus: Bus) -> IngestListener:
    """A post-ingest listener that announces each stored batch on `TELEMETRY_CHANNEL`:
    `{"devices": [report_message, …]}`, as many devices a message as fit the bus's limit,
    all the batch's messages in one `publish_many` (one NOTIFY round trip on PostgreSQL)."""

    async def publish(reports: list[DeviceReport]) -> None:
        entries = [report_message(report) for report in reports]
        await bus.publish_many(TELEMETRY_CHANNEL, [{"devices": part} for part in packed(entries)])

    return publish


def packed(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """`entries` in runs whose `{"devices": [...]}` message fits `MAX_MESSAGE_BYTES`."""
    parts: list[list[dict[str, Any]]] = []
    size = 0
    for entry in entries:
        length = len(to_json(entry)) + 1  # and a comma
        if not parts or size + length > MAX_MESSAGE_BYTES:
            parts.append([])
            size = len('{"devices":[]}')
        parts[-1].append(entry)
        size += length
    return parts


@dataclass(frozen=True, slots=True)
class IngestReport:
    """The answer to one ingest request."""

    stored: int
    duplicates: int
    errors: list[SampleError] = field(default_factory=list)


class Ingest(Service):
    """Telemetry in: authenticate the sender, check the samples, store them once."""

    def __init__(self, engine: AsyncEngine, clock: Clock, config: Config, devices: Devices):
        super().__init__(engine, clock)
        self.devices = devices
        self.retention = config.retention
        self.offline_after = timedelta(seconds=config.offline_after_seconds)
        # called after each commit with the devices it touched; keep them quick
        self.listeners: list[IngestListener] = []
        self._partition_days: set[int] = set()  # PostgreSQL partitions known to exist
        self._last_seen_written: dict[int, datetime] = {}  # device seq → last write
        # SQLite: a batch is written whole in one worker thread (one hop, not one per
        # statement); the file and its settings are the async engine's
        self._sqlite = sqlite_writer(config.resolved_database_url)
        # SQLite: the bulk writers of this process (batches, the rollup job's short write
        # transactions) take turns here, first come first served, instead of polling for the
        # write lock in SQLite's busy handler, which sleeps up to 100 ms a try
        # (bench/RESULTS.md, live updates)
        self.write_turns: asyncio.Lock | None = asyncio.Lock() if self._sqlite else None
        # SQLite: the WAL is checkpointed beside the writers, not in their commits
        self.checkpoints = BackgroundCheckpoints(self._sqlite) if self._sqlite else None

    @property
    def sqlite_writer(self) -> Engine | None:
        """SQLite: the synchronous engine batches are written with (None on PostgreSQL)."""
        return self._sqlite

    def close(self) -> None:
        """Release the SQLite writer's connections."""
        if self.checkpoints is not None:
            self.checkpoints.close()
        if self._sqlite is not None:
            self._sqlite.dispose()

    async def from_hub(self, link_token: str, raw_body: bytes) -> IngestReport:
        """A batch from the HA hub linked to a home; samples name plugs of that home."""
        async with reading(self.engine).begin() as conn:
            link = await link_store.find_active_link_token(conn, hash_secret(link_token), None)
        if link is None:
            raise Unauthenticated("unknown or revoked link token", "invalid_link_token")
        now = self.now()
        if link.last_used_at is None or now - link.last_used_at > LINK_TOUCH_STEP:
            async with self.engine.begin() as conn:  # a write a minute, not one per batch
                await link_store.touch_link_token(conn, link.id, now)
        parsed, errors = self._parse(decode_body(raw_body), with_device=True)
        return await self._store_for_home(link.home_id, parsed, errors)

    async def from_link(self, home_id: str, items: list[Any]) -> IngestReport:
        """A `telemetry` message of the hub linked to `home_id` (the link authenticated it
        when it connected): samples name plugs of that home in `plug_id`."""
        parsed, errors = self._parse(items, with_device=True, device_field="plug_id")
        return await self._store_for_home(home_id, parsed, errors)

    async def _store_for_home(
        self, home_id: str, parsed: list[ParsedSample], errors: list[SampleError]
    ) -> IngestReport:
        keys = {item.device_key for item in parsed if item.device_key}
        async with reading(self.engine).begin() as conn:
            found = await device_store.devices_in_home(conn, home_id, keys)
        batch: list[tuple[Device, Sample]] = []
        for item in parsed:
            device = found.get(item.device_key or "")
            if device is None:
                errors.append(
                    SampleError(item.index, "unknown_device", "no such plug in the linked home")
                )
            else:
                batch.append((device, item.sample))
        stored, duplicates = await self.store(batch)
        return IngestReport(stored, duplicates, sorted(errors, key=lambda e: e.index))

    async def from_device(
        self,
        device_id: str | None,
        timestamp: str | None,
        signature: str | None,
        raw_body: bytes,
    ) -> IngestReport:
        """A plug's own signed request (headers as received, body as raw bytes)."""
        device = await verify_device_request(
            self.engine, self.devices, self.now(), device_id, timestamp, signature, raw_body
        )
        parsed, errors = self._parse(decode_body(raw_body), with_device=False)
        stored, duplicates = await self.store([(device, item.sample) for item in parsed])
        return IngestReport(stored, duplicates, errors)

    async def store(self, batch: list[tuple[Device, Sample]]) -> tuple[int, int]:
        """Store samples of authorized devices, once per (device, ts): (new, duplicates)."""
        if not batch:
            return 0, 0
        # per sample only what the driver needs and two C-speed comprehensions: every
        # microsecond here is a fifth of what the database itself spends on a row
        rows: list[TelemetryRow] = [
            (d.seq, s.ts, s.power, s.voltage, s.current, s.energy, s.relay) for d, s in batch
        ]
        newest: dict[int, tuple[Device, Sample]] = {}
        for device, sample in batch:
            best = newest.get(device.seq)
            if best is None or best[1].ts < sample.ts:
                newest[device.seq] = (device, sample)
        minute = telemetry_store.MINUTE_MS
        minutes = {(row[0], row[1] - row[1] % minute) for row in rows}
        seen_at = self._last_seen_due(newest)
        if self._sqlite is not None:
            assert self.write_turns is not None
            async with self.write_turns:
                stored = await asyncio.to_thread(self._write_sqlite, rows, minutes, seen_at)
            assert self.checkpoints is not None
            self.checkpoints.request()
            seen_applied = True
        else:
            await self._ensure_partitions({row[1] // telemetry_store.DAY_MS for row in rows})
            async with self.engine.connect() as conn:
                stored, seen_applied = await telemetry_store.write_batch_postgresql(
                    conn, rows, minutes, seen_at, LAST_SEEN_STEP
                )
        if stored:  # a batch of duplicates changes nothing anybody could want to hear
            if seen_applied:
                self._remember_last_seen(seen_at)
            await self._notify(newest, rows, exact=stored == len(rows))
        return stored, len(batch) - stored

    def _last_seen_due(self, newest: dict[int, tuple[Device, Sample]]) -> dict[int, datetime]:
        """Device seq → newest sample time, for devices whose `last_seen_at` is more than a
        step behind it: as the caller loaded the device, or as this process last wrote it
        (a caller holding devices for long, like the bench, must not cost a write a batch)."""
        due: dict[int, datetime] = {}
        for seq, (device, sample) in newest.items():
            at = datetime.fromtimestamp(sample.ts / 1000, UTC)
            known = device.last_seen_at
            written = self._last_seen_written.get(seq)
            if written is not None and (known is None or known < written):
                known = written
            if known is None or known < at - LAST_SEEN_STEP:
                due[seq] = at
        return due

    def _remember_last_seen(self, written: dict[int, datetime]) -> None:
        # last_seen_at only moves forward, so each entry stays a lower bound of the stored
        # value; forgetting them all costs a write per device, never a wrong answer
        if len(self._last_seen_written) > LAST_SEEN_MEMORY:
            self._last_seen_written.clear()
        self._last_seen_written.update(written)

    def _write_sqlite(
        self,
        rows: list[TelemetryRow],
        minutes: set[tuple[int, int]],
        seen_at: dict[int, datetime],
    ) -> int:
        assert self._sqlite is not None
        with self._sqlite.begin() as conn:
            return telemetry_store.write_batch_sqlite(conn, rows, minutes, seen_at, LAST_SEEN_STEP)

    async def _notify(
        self, newest: dict[int, tuple[Device, Sample]], rows: list[TelemetryRow], *, exact: bool
    ) -> None:
        """Tell every listener, once per device. `exact`: every row was new, so none
        repeats another; otherwise repeats within the batch are counted once."""
        if not self.listeners:
            return
        now = self.now()
        if exact:
            counts = Counter(row[0] for row in rows)
        else:
            counts = Counter(seq for seq, _ts in {(row[0], row[1]) for row in rows})
        reports = [
            DeviceReport(
                device=device,
                latest=sample,
                samples=counts[seq],
                came_online=device.last_seen_at is None
                or now - device.last_seen_at > self.offline_after,
            )
            for seq, (device, sample) in newest.items()
        ]
        for listener in list(self.listeners):
            try:
                await listener(reports)
            except Exception:  # a listener never takes ingest down
                _LOGGER.exception("post-ingest listener %r failed", listener)

    def _parse(
        self, items: list[Any], *, with_device: bool, device_field: str = "device_id"
    ) -> tuple[list[ParsedSample], list[SampleError]]:
        now_ms = int(self.now().timestamp() * 1000)
        # older samples would land in a day retention is about to drop (or has dropped)
        oldest_ms = now_ms - (self.retention.raw_days - 1) * telemetry_store.DAY_MS
        return parse_samples(
            items,
            now_ms=now_ms,
            oldest_ms=oldest_ms,
            with_device=with_device,
            device_field=device_field,
        )

    async def _ensure_partitions(self, days: set[int]) -> None:
        missing = days - self._partition_days
        if not missing:
            return
        async with self.engine.begin() as conn:
            await telemetry_store.create_partitions(conn, missing)
        self._partition_days |= missing
