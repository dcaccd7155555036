"""GreenNet Cloud telemetry: ingest rate against the raw driver, history query time on a
30-day 1 Hz plug (2.6 M rows) and one year of daily rollups, peak memory of a CSV export.

Everything runs in this process against the real app (aiohttp test server on loopback, the
real routes and services) on SQLite and on PostgreSQL (Debian's server, started here).
Baselines are measured in the same run on the same database server:

- ingest: `Ingest.store` (the one function both ingest paths call) and the whole
  `POST /api/v1/ingest/batch` path, against the same rows written by the raw driver into a
  table of the same shape: `sqlite3.executemany` in one transaction per batch, or asyncpg's
  `COPY` (copy_records_to_table) per batch;
- history: `GET …/telemetry?resolution=1h` over 30 days (720 points) and
  `resolution=1d` over a year (365 points), median of repeated calls, over HTTP;
- CSV: `GET …/telemetry.csv` of the 30 days raw (2.6 M rows), streamed to the client,
  with the process's peak RSS (VmHWM, reset before the export) against its RSS before.

    .venv-cloud/bin/python -m bench.telemetry_bench [--quick] [--write] [--only sqlite]
        [--part ingest|history]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from greennet_cloud import Config, create_app
from greennet_cloud.config import PasswordHashing, RegistrationThrottle, Retention
from greennet_cloud.db.schema import telemetry, telemetry_1d, telemetry_1h
from greennet_cloud.models import Sample
from greennet_cloud.services.rollups import Rollups
from greennet_cloud.storage import devices as device_store
from greennet_cloud.storage import telemetry as telemetry_store
from greennet_cloud.web.keys import ENGINE, INGEST

from bench.harness import git_rev, machine_info, record_results
from tests.backend.postgres import PostgresServer

SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench-password-2026"
DAY_MS, HOUR_MS = 86_400_000, 3_600_000


def tree_cpu_seconds(root: int | None) -> float:
    """User + system CPU seconds of process `root` and everything under it, ended children
    included (their parents' cutime/cstime): PostgreSQL's postmaster with its backends and
    background workers. 0 without a root (SQLite runs inside this process)."""
    if root is None:
        return 0.0
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = sum(int(value) for value in fields[11:15])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def rss(field: str) -> float:
    """VmRSS / VmHWM of this process, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


class Cloud:
    """The app on loopback with one account, a home and `plugs` paired plugs."""

    def __init__(self, url: str, workdir: Path) -> None:
        config = Config(
            data_dir=workdir,
            database_url=url,
            secret=SECRET,
            password_hashing=PasswordHashing(time_cost=1, memory_cost_kib=256),
            registration_throttle=RegistrationThrottle(per_address=1_000_000),
            max_body_bytes=16 * 1024 * 1024,
            retention=Retention(raw_days=400, minute_days=400, hour_days=800),
            run_jobs=False,
        )
        self.app = create_app(config)
        self.client = TestClient(TestServer(self.app, host="127.0.0.1"))
        self.token = ""
        self.link = ""
        self.home = ""

    async def call(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        async with self.client.request(method, path, json=body, headers=headers) as reply:
            assert reply.status < 300, (path, reply.status, await reply.text())
            return await reply.json()

    async def start(self, plugs: int) -> list[dict[str, Any]]:
        await self.client.start_server()
        email = "bench@example.com"
        await self.call("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
        tokens = await self.call(
            "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD}
        )
        self.token = tokens["access_token"]
        self.home = (await self.call("POST", "/api/v1/homes", {"name": "Bench"}))["id"]
        self.link = (await self.call("POST", f"/api/v1/homes/{self.home}/link-tokens", {}))["token"]
        devices = []
        for n in range(plugs):
            code = (await self.call("POST", f"/api/v1/homes/{self.home}/pairing-codes"))["code"]
            paired = await self.call(
                "POST", "/api/v1/devices/pair", {"code": code, "device_id": f"greennet-{n:06x}"}
            )
            devices.append(paired["device"])
        return devices

    async def device(self, device_id: str) -> Any:
        async with self.app[ENGINE].connect() as conn:
            return await device_store.find_device(conn, device_id)


def batches(
    seqs: list[int], per_device: int, batch: int, start_ms: int
) -> list[list[tuple[int, Sample]]]:
    """Rows as a hub sends them: each batch holds a few samples of many plugs."""
    rows = [
        (seq, Sample(start_ms + i * 1000, 100.0 + i % 7, 230.0, 0.45, 1.0 + i / 3600, True))
        for i in range(per_device)
        for seq in seqs
    ]
    return [rows[i : i + batch] for i in range(0, len(rows), batch)]


class RawDriver:
    """The baseline: the bare driver writing rows into the same `telemetry` table as the
    service (same database, devices, foreign key, pragmas; partitions on PostgreSQL), one
    transaction per batch: `sqlite3.executemany` or asyncpg `COPY`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection[Any] | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            # written from a worker thread (as the service does): a busy wait for the write
            # lock must not block the event loop, where the app may be finishing a write
            self.sqlite = sqlite3.connect(
                self.url.split("///", 1)[1], isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.sqlite.execute(f"PRAGMA {pragma}")  # as the service's engine sets them
        else:
            self.pg = await asyncpg.connect(self.url.replace("postgresql+asyncpg", "postgresql"))

    @staticmethod
    def _write_sqlite(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO telemetry VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        connection.execute("COMMIT")

    async def write(self, rows: list[tuple[Any, ...]]) -> None:
        if self.sqlite is not None:
            await asyncio.to_thread(self._write_sqlite, self.sqlite, rows)
        else:
            assert self.pg is not None
            async with self.pg.transaction():
                await self.pg.copy_records_to_table(
                    "telemetry", records=rows, columns=[c.name for c in telemetry.columns]
                )

    async def remove(self, rows: list[tuple[Any, ...]]) -> None:
        """Delete a batch it wrote (a batch is a time range of its own), so the service
        writes the same rows into the same table next."""
        low, high = min(row[1] for row in rows), max(row[1] for row in rows)
        if self.sqlite is not None:
            await asyncio.to_thread(
                self.sqlite.execute, "DELETE FROM telemetry WHERE ts BETWEEN ? AND ?", (low, high)
            )
        else:
            assert self.pg is not None
            await self.pg.execute("DELETE FROM telemetry WHERE ts BETWEEN $1 AND $2", low, high)

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()


class Stopwatch:
    """Wall, this process's CPU and the database server's CPU, summed over timed runs."""

    def __init__(self, server: int | None) -> None:
        self.server = server
        self.wall = self.cpu = self.server_cpu = 0.0

    @contextlib.asynccontextmanager
    async def timing(self) -> AsyncIterator[None]:
        server = tree_cpu_seconds(self.server)
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.server_cpu += tree_cpu_seconds(self.server) - server


async def bench_ingest(
    url: str, workdir: Path, quick: bool, batch: int, server: int | None
) -> dict[str, float]:
    """The bare driver and `Ingest.store` take turns batch by batch on the same rows (the
    driver's copy is deleted, untimed, before the service writes them), so both see the
    same table and the same machine load; then a tenth of the batches again (all
    duplicates, a hub retrying) and the whole HTTP path on fresh timestamps."""
    plugs, per_device = (50, 200) if quick else (100, 1000)
    async with AsyncExitStack() as stack:
        cloud = Cloud(url, workdir)
        stack.push_async_callback(cloud.client.close)
        devices = await cloud.start(plugs)
        found = [await cloud.device(d["id"]) for d in devices]
        by_seq = {device.seq: device for device in found}
        now = int(time.time() * 1000) - per_device * 1000 - 60_000
        chunks = batches(list(by_seq), per_device, batch, now)
        total = sum(len(chunk) for chunk in chunks)
        store = cloud.app[INGEST].store
        if url.startswith("postgresql"):  # the partitions both write to
            async with cloud.app[ENGINE].begin() as conn:
                days = {telemetry_store.day_of(s.ts) for chunk in chunks for _, s in chunk}
                await telemetry_store.create_partitions(conn, days)
        raw = RawDriver(url)
        await raw.open()
        stack.push_async_callback(raw.close)
        raw_time, store_time = Stopwatch(server), Stopwatch(server)
        for chunk in chunks:
            rows = [(seq, s.ts, s.power, s.voltage, s.current, s.energy, s.relay)
                    for seq, s in chunk]  # fmt: skip
            pairs = [(by_seq[seq], sample) for seq, sample in chunk]
            async with raw_time.timing():
                await raw.write(rows)
            await raw.remove(rows)
            async with store_time.timing():
                await store(pairs)
        retries = chunks[: max(1, len(chunks) // 10)]
        started = time.perf_counter()
        for chunk in retries:
            assert (await store([(by_seq[seq], sample) for seq, sample in chunk]))[0] == 0
        retry_rate = sum(len(chunk) for chunk in retries) / (time.perf_counter() - started)
        # the whole HTTP path (JSON, per-sample checks, link token) on fresh timestamps
        plug_of = {device.seq: device.plug_id for device in found}
        http_chunks = batches(list(by_seq), per_device // 4, batch, now + per_device * 1000)
        bodies = [
            json.dumps(
                {
                    "samples": [
                        {
                            "device_id": plug_of[seq],
                            "ts": s.ts,
                            "power": s.power,
                            "voltage": s.voltage,
                            "current": s.current,
                            "energy": s.energy,
                            "relay": "ON",
                        }
                        for seq, s in chunk
                    ]
                }
            )  # fmt: skip
            for chunk in http_chunks
        ]
        http_total = sum(len(chunk) for chunk in http_chunks)
        started = time.perf_counter()
        for body in bodies:
            headers = {"Authorization": f"Bearer {cloud.link}", "Content-Type": "application/json"}
            async with cloud.client.post(
                "/api/v1/ingest/batch", data=body, headers=headers
            ) as reply:
                assert reply.status == 200, await reply.text()
        http_s = time.perf_counter() - started
    return {
        "batch": batch,
        "samples": total,
        "store_rate": total / store_time.wall,
        "store_cpu_rate": total / (store_time.cpu + store_time.server_cpu),
        "raw_cpu_rate": total / (raw_time.cpu + raw_time.server_cpu),
        "retry_rate": retry_rate,
        "http_rate": http_total / http_s,
        "raw_rate": total / raw_time.wall,
    }


async def fill_month(cloud: Cloud, url: str, seq: int, start: int, seconds: int) -> float:
    """Write `seconds` samples at 1 Hz for device `seq` with the bare driver (fast), mark
    every minute pending and let the rollup job build 1m/1h/1d; seconds it took to roll up."""

    def rows(lo: int, hi: int) -> list[tuple[Any, ...]]:
        return [
            (seq, start + i * 1000, 50.0 + (i % 600) / 10, 230.0, 0.3, i / 3_600_000 * 60, True)
            for i in range(lo, hi)
        ]

    step = 200_000
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        for lo in range(0, seconds, step):
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO telemetry VALUES (?, ?, ?, ?, ?, ?, ?)",
                           rows(lo, min(seconds, lo + step)))  # fmt: skip
            db.execute("COMMIT")
        db.close()
    else:
        engine = cloud.app[ENGINE]
        days = {telemetry_store.day_of(start + i * 1000) for i in range(0, seconds, 3600)}
        async with engine.begin() as conn:
            await telemetry_store.create_partitions(
                conn, days | {telemetry_store.day_of(start + seconds * 1000)}
            )
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            for lo in range(0, seconds, step):
                await conn.copy_records_to_table(
                    "telemetry", records=rows(lo, min(seconds, lo + step)),
                    columns=[c.name for c in telemetry.columns],
                )  # fmt: skip
            await conn.execute("ANALYZE telemetry")
        finally:
            await conn.close()
    minutes = [(seq, start + m * 60_000) for m in range(seconds // 60)]
    async with cloud.app[ENGINE].begin() as conn:
        await telemetry_store.mark_pending(conn, minutes)
    started = time.perf_counter()
    rollups = Rollups(cloud.app[ENGINE], lambda: datetime.now(UTC))
    while await rollups.run():
        pass
    return time.perf_counter() - started


async def timed_get(cloud: Cloud, path: str, repeat: int) -> tuple[float, int, float]:
    """Median ms of GET `path` over HTTP until the whole answer is read (the client's own
    JSON parsing, in this same process, left out), the points in it, and the median CPU
    ms of this process (client and server) per request."""
    times, cpu, body = [], [], b""
    headers = {"Authorization": f"Bearer {cloud.token}"}
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        async with cloud.client.get(path, headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            body = await reply.read()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return statistics.median(times), len(json.loads(body)["points"]), statistics.median(cpu)


async def settle(url: str) -> None:
    """Let the database be as it is in service, not a second after 2.6 M rows arrived:
    SQLite's write-ahead log checkpointed, PostgreSQL's tables vacuumed and analyzed."""
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def bench_history(url: str, workdir: Path, quick: bool) -> dict[str, float]:
    seconds = (2 * 86_400) if quick else (30 * 86_400)
    async with AsyncExitStack() as stack:
        cloud = Cloud(url, workdir)
        stack.push_async_callback(cloud.client.close)
        month, year = await cloud.start(2)
        seq = (await cloud.device(month["id"])).seq
        now = int(time.time() * 1000)
        start = now - now % DAY_MS - seconds * 1000
        rollup_s = await fill_month(cloud, url, seq, start, seconds)
        path = f"/api/v1/devices/{month['id']}/telemetry?from={start}&to={start + seconds * 1000}"
        await settle(url)
        hourly_ms, hourly_points, hourly_cpu = await timed_get(cloud, path + "&resolution=1h", 21)
        # one year of daily (and hourly) rollups for the second plug, written directly
        year_seq = (await cloud.device(year["id"])).seq
        year_start = now - now % DAY_MS - 365 * DAY_MS
        async with cloud.app[ENGINE].begin() as conn:
            for table, step, count in (
                (telemetry_1h, HOUR_MS, 365 * 24),
                (telemetry_1d, DAY_MS, 365),
            ):
                await conn.execute(
                    table.insert(),
                    [
                        {"device_seq": year_seq, "bucket": year_start + i * step, "samples": 3600,
                         "power_min": 10.0, "power_max": 90.0, "power_sum": 180_000.0,
                         "energy": 1.2}
                        for i in range(count)
                    ],
                )  # fmt: skip
        year_path = (f"/api/v1/devices/{year['id']}/telemetry?resolution=1d"
                     f"&from={year_start}&to={year_start + 365 * DAY_MS}")  # fmt: skip
        daily_ms, daily_points, daily_cpu = await timed_get(cloud, year_path, 21)
        # CSV: 30 days raw, streamed; the client reads and drops the bytes
        csv_path = (
            f"/api/v1/devices/{month['id']}/telemetry.csv?from={start}&to={start + seconds * 1000}"
        )
        before = rss("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
        size = lines = 0
        started = time.perf_counter()
        async with cloud.client.get(
            csv_path, headers={"Authorization": f"Bearer {cloud.token}"}
        ) as reply:
            assert reply.status == 200
            async for chunk in reply.content.iter_chunked(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
        csv_s = time.perf_counter() - started
        peak = rss("VmHWM")
    return {
        "rows": seconds,
        "rollup_s": rollup_s,
        "hourly_ms": hourly_ms,
        "hourly_cpu": hourly_cpu,
        "hourly_points": hourly_points,
        "daily_ms": daily_ms,
        "daily_cpu": daily_cpu,
        "daily_points": daily_points,
        "csv_mib": size / 2**20,
        "csv_lines": lines,
        "csv_s": csv_s,
        "rss_before": before,
        "rss_peak": peak,
    }


async def run(args: argparse.Namespace) -> str:
    results: list[tuple[str, list[dict[str, float]], dict[str, float] | None]] = []
    parts = args.part or ["ingest", "history"]
    postgres: PostgresServer | None = None
    try:
        for backend in args.only or ["sqlite", "postgresql"]:
            with tempfile.TemporaryDirectory(prefix="greennet-bench-") as tmp:
                workdir = Path(tmp)
                urls = []
                names = ("i1000", "i10000", "h")
                if backend == "sqlite":
                    urls = [f"sqlite+aiosqlite:///{workdir}/{name}.db" for name in names]
                else:
                    if postgres is None:
                        postgres = PostgresServer()
                        postgres.start()
                    urls = [postgres.create_database(f"bench_{name}") for name in names]
                ingest = []
                for url, batch in zip(urls, (1000, 10_000), strict=False):
                    if "ingest" not in parts:
                        break
                    print(f"[{backend}] ingest, batches of {batch}…", flush=True)
                    server = postgres._proc.pid if postgres and postgres._proc else None
                    ingest.append(await bench_ingest(url, workdir, args.quick, batch, server))
                    print(f"[{backend}] {ingest[-1]}", flush=True)
                history = None
                if "history" in parts:
                    print(f"[{backend}] history…", flush=True)
                    history = await bench_history(urls[2], workdir, args.quick)
                    print(f"[{backend}] {history}", flush=True)
                results.append((backend, ingest, history))
    finally:
        if postgres is not None:
            postgres.stop()
    day = datetime.now(UTC).date().isoformat()
    flags = " ".join(
        [*(["--quick"] if args.quick else []), *(f"--part {part}" for part in args.part or [])]
    )
    lines = [
        f"### Telemetry{' (quick)' if args.quick else ''} ({day}, commit {git_rev()})",
        "",
        machine_info() + "; client and server in one process",
        "",
        f"`.venv-cloud/bin/python -m bench.telemetry_bench {flags}`".replace(" `", "`"),
    ]
    if any(runs for _, runs, _ in results):
        lines += [
            "",
            "| database | samples per batch | samples | Ingest.store /s | raw driver /s"
            " | store ÷ raw | per CPU-s (process + server): store / raw | ÷ (CPU)"
            " | retried batch /s | POST /ingest/batch /s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    for backend, runs, _ in results:
        raw = "sqlite3 executemany" if backend == "sqlite" else "asyncpg COPY"
        for figures in runs:
            lines.append(
                f"| {backend} | {figures['batch']:,.0f} | {figures['samples']:,.0f} |"
                f" {figures['store_rate']:,.0f} | {figures['raw_rate']:,.0f} ({raw}) |"
                f" {figures['store_rate'] / figures['raw_rate']:.2f} |"
                f" {figures['store_cpu_rate']:,.0f} / {figures['raw_cpu_rate']:,.0f} |"
                f" {figures['store_cpu_rate'] / figures['raw_cpu_rate']:.2f} |"
                f" {figures['retry_rate']:,.0f} | {figures['http_rate']:,.0f} |"
            )
    if any(history for _, _, history in results):
        lines += [
            "",
            "| database | raw rows (1 Hz) | rollup job s | 30 days 1h: ms / CPU ms (points)"
            " | 1 year 1d: ms / CPU ms (points) | CSV MiB / lines / s | RSS before → peak MiB |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
    for backend, _, h in results:
        if h is None:
            continue
        lines.append(
            f"| {backend} | {h['rows']:,.0f} | {h['rollup_s']:.1f} |"
            f" {h['hourly_ms']:.1f} / {h['hourly_cpu']:.1f} ({h['hourly_points']:.0f}) |"
            f" {h['daily_ms']:.1f} / {h['daily_cpu']:.1f} ({h['daily_points']:.0f}) |"
            f" {h['csv_mib']:.0f} / {h['csv_lines']:,.0f} / {h['csv_s']:.1f} |"
            f" {h['rss_before']:.0f} → {h['rss_peak']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data sets (smoke run)")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--only", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--part", action="append", choices=["ingest", "history"])
    args = parser.parse_args()
    record_results(asyncio.run(run(args)), args.write)


if __name__ == "__main__":
    main()
