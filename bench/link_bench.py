"""The HA link, cloud side: remote relay round trip and CPU per 1,000 linked samples.

Runs the real `greennet-cloud serve` (from .venv-cloud) on SQLite, on PostgreSQL, and as two
processes on one PostgreSQL (the hub linked to one, the API called on the other). A test
hub (tests/backend/hub.py, answering commands the way the integration does, from a model
of its plugs, without MQTT) keeps the link; the bench process is the API client.

- Relay round trip: `POST /api/v1/devices/{id}/relay` → cloud → hub → `command_result` →
  200, sequential, p50/p99. Baseline in the same run: the authenticated read
  `GET /api/v1/devices/{id}` on the same process (what any API call costs).
- CPU per 1,000 linked samples: the cloud process's CPU time (/proc) while the hub sends
  telemetry batches over the link, each acknowledged before the next; baseline: the same
  samples through `POST /api/v1/ingest/batch` (one HTTP request per batch).

    .venv-cloud/bin/python -m bench.link_bench [--quick] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from greennet_demo.services import Process, cloud_bin, free_port, spawn, wait_http

from bench.harness import cpu_seconds, git_rev, machine_info, percentile, record_results
from tests.backend.hub import SimPlug, TestHub
from tests.backend.postgres import PostgresServer

EMAIL, PASSWORD = "bench@greennet.example", "bench-password-2026"
PLUGS = [f"greennet-be{n:04x}" for n in range(10)]
SECRET = "bench-signing-secret-" + "x" * 40
SETUPS = {
    "sqlite": "SQLite, 1 process",
    "postgresql": "PostgreSQL, 1 process",
    "postgresql-2": "PostgreSQL, 2 processes (link on one, API on the other)",
}


@dataclass
class Setup:
    """One way of running the cloud: its processes and which one the hub links to."""

    name: str
    link_base: str
    api_base: str
    pids: list[int]


@dataclass
class Figures:
    """What one setup measured."""

    setup: str
    relay_ms: list[float]
    read_ms: list[float]
    link_cpu: dict[int, float]  # batch size → cloud CPU s per 1,000 samples over the link
    http_cpu: dict[int, float]  # the same through POST /api/v1/ingest/batch


class Cloud:
    """JSON calls to the cloud as the owner."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str = "") -> None:
        self.session = session
        self.base = base
        self.token = token

    async def call(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"} if token or self.token else {}
        async with self.session.request(
            method, self.base + path, json=body, headers=headers
        ) as response:
            assert response.status < 300, (path, response.status, await response.text())
            return await response.json() if response.content_length else None


async def timed(call: Callable[[], Any], count: int) -> list[float]:
    """Milliseconds of `count` sequential awaits of `call()`."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def batches(start_ms: int, size: int, count: int) -> list[list[dict[str, Any]]]:
    """`count` batches of `size` samples, round-robin over the plugs, 1 ms apart."""
    made = []
    ts = start_ms
    for _ in range(count):
        batch = []
        for index in range(size):
            batch.append({
                "plug_id": PLUGS[index % len(PLUGS)], "ts": ts, "power": 100.0 + index % 7,
                "voltage": 230.0, "current": 0.45, "energy": 1.5 + ts / 1e9, "relay": "ON",
            })  # fmt: skip
            ts += 1
        made.append(batch)
    return made


async def measure(setup: Setup, relays: int, samples: int) -> Figures:
    """Seed an owner, a home and a linked hub; then the round trips and the CPU costs."""
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        cloud = Cloud(session, setup.api_base)
        account = {"email": EMAIL, "password": PASSWORD}
        await cloud.call("POST", "/api/v1/auth/register", account)
        cloud.token = (await cloud.call("POST", "/api/v1/auth/login", account))["access_token"]
        home = await cloud.call("POST", "/api/v1/homes", {"name": "Bench"})
        link = await cloud.call("POST", f"/api/v1/homes/{home['id']}/link-tokens", {})
        hub = TestHub(
            session,
            setup.link_base + "/api/v1/link",
            link["token"],
            [SimPlug(plug_id) for plug_id in PLUGS],
        )
        await hub.connect()
        stack.push_async_callback(hub.close)
        device_id = (await hub.announce())["devices"][PLUGS[0]]
        relay_path = f"/api/v1/devices/{device_id}/relay"
        values = iter(["ON", "OFF"] * relays)

        async def switch() -> None:
            await cloud.call("POST", relay_path, {"state": next(values)})

        async def read() -> None:
            await cloud.call("GET", f"/api/v1/devices/{device_id}")

        await timed(switch, 20)  # warm up both paths
        await timed(read, 20)
        read_ms = await timed(read, relays)
        relay_ms = await timed(switch, relays)
        start_ms = int(time.time() * 1000) - 20 * 3600 * 1000
        link_cpu: dict[int, float] = {}
        http_cpu: dict[int, float] = {}
        for size in (50, 500):
            count = max(1, samples // size)
            sent = batches(start_ms, size, count)
            start_ms += size * count + 1
            cpu0 = cloud_cpu(setup)
            for seq, batch in enumerate(sent):
                ack = await hub.request("telemetry", seq=seq, samples=batch)
                assert ack["stored"] == size, ack
            link_cpu[size] = ms_per_thousand(cloud_cpu(setup) - cpu0, size * count)
            again = batches(start_ms, size, count)
            start_ms += size * count + 1
            cpu0 = cloud_cpu(setup)
            for batch in again:
                body = {"samples": [{**s, "device_id": s.pop("plug_id")} for s in batch]}
                report = await cloud.call("POST", "/api/v1/ingest/batch", body, link["token"])
                assert report["stored"] == size, report
            http_cpu[size] = ms_per_thousand(cloud_cpu(setup) - cpu0, size * count)
        return Figures(setup.name, relay_ms, read_ms, link_cpu, http_cpu)


def ms_per_thousand(cpu_s: float, samples: int) -> float:
    """CPU milliseconds per 1,000 samples."""
    return cpu_s * 1000 * 1000 / samples


def cloud_cpu(setup: Setup) -> float:
    """CPU seconds of every cloud process of the setup so far."""
    return sum(cpu_seconds(pid) for pid in setup.pids)


def serve(name: str, workdir: Path, database_url: str | None) -> tuple[Process, str]:
    """`greennet-cloud serve` on a free port; its process and base URL."""
    port = free_port()
    args = [str(cloud_bin() / "greennet-cloud"), "serve", "--data-dir", str(workdir)]
    args += ["--port", str(port)]
    if database_url:
        args += ["--database-url", database_url]
    env = {"GREENNET_SECRET": SECRET, "GREENNET_LOG_LEVEL": "WARNING", "GREENNET_ACCESS_LOG": "0"}
    proc = spawn(name, args, workdir, env)
    base = f"http://127.0.0.1:{port}"
    asyncio.run(wait_http(proc, base + "/healthz", 60))
    return proc, base


def run_setup(name: str, relays: int, samples: int) -> Figures:
    """Start the processes of one setup, measure, stop them."""
    pg: PostgresServer | None = None
    procs: list[Process] = []
    with tempfile.TemporaryDirectory(prefix=f"greennet-link-bench-{name}-") as tmp:
        try:
            url = None
            if name != "sqlite":
                pg = PostgresServer()
                pg.start()
                url = pg.create_database("bench")
            first, first_base = serve("cloud-1", Path(tmp) / "1", url)
            procs.append(first)
            api_base = first_base
            if name == "postgresql-2":
                second, api_base = serve("cloud-2", Path(tmp) / "2", url)
                procs.append(second)
            setup = Setup(SETUPS[name], first_base, api_base, [p.proc.pid for p in procs])
            return asyncio.run(measure(setup, relays, samples))
        finally:
            for proc in procs:
                proc.stop()
            if pg is not None:
                pg.stop()


def report(results: list[Figures], command: str) -> str:
    """Markdown section for bench/RESULTS.md."""
    lines = [
        "| setup | relay round trip p50 / p99 ms | authenticated read p50 / p99 ms (baseline) "
        "| relay p50 x read | cloud CPU ms / 1,000 samples, link (batch 50 / 500) "
        "| same via POST /ingest/batch | link x HTTP (50 / 500) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in results:
        relay50, read50 = percentile(f.relay_ms, 50), percentile(f.read_ms, 50)
        lines.append(
            f"| {f.setup} | {relay50:.1f} / {percentile(f.relay_ms, 99):.1f} "
            f"| {read50:.1f} / {percentile(f.read_ms, 99):.1f} | {relay50 / read50:.2f} "
            f"| {f.link_cpu[50]:.0f} / {f.link_cpu[500]:.0f} "
            f"| {f.http_cpu[50]:.0f} / {f.http_cpu[500]:.0f} "
            f"| {f.link_cpu[50] / f.http_cpu[50]:.2f} / {f.link_cpu[500] / f.http_cpu[500]:.2f} |"
        )
    n = len(results[0].relay_ms)
    return (
        f"### HA link, cloud side: relay round trip and CPU per 1,000 linked samples "
        f"({time.strftime('%Y-%m-%d')}, commit {git_rev()})\n\n{machine_info()}\n\n"
        f"`{command}`\n\n" + "\n".join(lines) + "\n\n"
        f"{n} sequential relay commands per setup (API → cloud → test hub → `command_result` "
        "→ 200), after 20 warm-up ones; the baseline is the same number of authenticated "
        "device reads on the same process. CPU: all cloud processes of the setup, per 1,000 "
        "samples, each batch acknowledged before the next. The hub and the API client run in "
        "the bench process on the same 2 cores.\n"
    )


def main() -> None:
    """Every setup; print (and optionally record) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 relays, 10,000 samples")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    args = parser.parse_args()
    relays, samples = (200, 10_000) if args.quick else (1000, 50_000)
    results = [run_setup(name, relays, samples) for name in args.setups]
    command = ".venv-cloud/bin/python -m bench.link_bench " + " ".join(sys.argv[1:])
    record_results(report(results, command.strip()), args.write)


if __name__ == "__main__":
    main()
