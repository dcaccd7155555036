"""GreenNet Cloud live updates: ingest → websocket client latency with 1,000 samples/s
flowing, and ingest → alert (and its notification) in the client.

Real `greennet-cloud serve` processes on loopback; this process generates the load and is
the websocket client. One home, 200 plugs; its linked hub's batch route
(`POST /api/v1/ingest/batch`) gets one sample of every plug five times a second (1,000
samples/s). The client subscribes to the home and times each reading from the moment its
batch was sent to the moment the reading arrives. Ten plugs carry a threshold (power above
1,000 W); every second one of them reports 2,000 W and then drops back, so an alert is
raised (and resolved) every second: the alert and its in-app notification are timed from
the batch that crossed the threshold.

Baselines in the same run, same socket and route: a websocket ping → pong round trip every
100 ms (what the transport itself costs) and the batch request's own round trip.

- sqlite: one process.
- postgresql: two processes on one database; batches go to the first, the client is
  connected to the second, so every update crosses processes through LISTEN/NOTIFY.

    .venv-cloud/bin/python -m bench.live_bench [--quick] [--write] [--only sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import cpu_seconds, git_rev, machine_info, percentile, record_results
from tests.backend.live import FAST_ARGON2, LiveServer
from tests.backend.postgres import PostgresServer

SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench-password-2026"
PLUGS = 200
BATCHES_PER_SECOND = 5  # 200 plugs x 5 = 1,000 samples/s
ALERT_PLUGS = 10
LIMIT_W = 1000.0


@dataclass
class Timings:
    """What one run measured, in milliseconds (and counts)."""

    reading: list[float] = field(default_factory=list)
    alert: list[float] = field(default_factory=list)
    notification: list[float] = field(default_factory=list)
    ping: list[float] = field(default_factory=list)
    request: list[float] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    server_cpu: float = 0.0
    seconds: float = 0.0
    closed: int | None = None  # the socket's close code, had the server closed it
    slowest: list[tuple[float, float]] = field(default_factory=list)  # (ms, s into the run)


class Cloud:
    """JSON calls to one service."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.base + path, headers=headers, **kw) as reply:
            if reply.status >= 300:
                raise RuntimeError(f"{method} {path}: {reply.status} {await reply.text()}")
            return await reply.json() if reply.content_type == "application/json" else None


async def seed(cloud: Cloud) -> tuple[str, str, str, list[str]]:
    """An owner with a home of PLUGS plugs, a link token, thresholds on ALERT_PLUGS."""
    account = {"email": "bench@example.com", "password": PASSWORD}
    await cloud.call("POST", "/api/v1/auth/register", json=account)
    tokens = await cloud.call("POST", "/api/v1/auth/login", json=account)
    token = tokens["access_token"]
    home = await cloud.call("POST", "/api/v1/homes", token, json={"name": "Bench"})
    devices = []
    for number in range(PLUGS):
        code = await cloud.call("POST", f"/api/v1/homes/{home['id']}/pairing-codes", token)
        claim = {"code": code["code"], "device_id": f"greennet-{number:06x}"}
        paired = await cloud.call("POST", "/api/v1/devices/pair", json=claim)
        devices.append(paired["device"]["id"])
    rule = {"metric": "power", "direction": "above", "value": LIMIT_W}
    for device in devices[:ALERT_PLUGS]:
        await cloud.call("POST", f"/api/v1/devices/{device}/thresholds", token, json=rule)
    link = await cloud.call("POST", f"/api/v1/homes/{home['id']}/link-tokens", token, json={})
    return token, home["id"], link["token"], devices


async def measure(ingest: Cloud, live: Cloud, seconds: float, pids: list[int]) -> Timings:
    token, home_id, link, devices = await seed(ingest)
    found = Timings()
    batch_sent: dict[int, float] = {}  # batch ts (ms) → monotonic send time
    breach_sent: dict[str, float] = {}  # device → send time of the batch that crossed
    ping_sent: dict[int, float] = {}
    ticket = await ingest.call("POST", "/api/v1/ws/tickets", token)
    ws_url = live.base.replace("http", "ws", 1) + ticket["url"]
    async with live.http.ws_connect(ws_url) as ws:
        await ws.receive_json()  # hello
        await ws.send_json({"type": "subscribe", "id": "s", "homes": [home_id]})
        while (await ws.receive_json()).get("id") != "s":
            pass

        async def read() -> None:
            async for frame in ws:
                now = time.monotonic()
                message = json.loads(frame.data)
                kind = message["type"]
                if kind == "telemetry" and message["ts"] in batch_sent:
                    found.reading.append((now - batch_sent[message["ts"]]) * 1000)
                    found.received += 1
                elif kind == "pong" and message["id"] in ping_sent:
                    found.ping.append((now - ping_sent.pop(message["id"])) * 1000)
                elif kind == "alert" and message["change"] == "raised":
                    sent = breach_sent.get(message["device_id"])
                    if sent is not None:
                        found.alert.append((now - sent) * 1000)
                elif kind == "notification":
                    data = message["notification"]["data"]
                    if message["notification"]["type"] == "alert_raised":
                        sent = breach_sent.get(data.get("device_id"))
                        if sent is not None:
                            found.notification.append((now - sent) * 1000)
            found.closed = ws.close_code

        async def ping() -> None:
            for number in itertools.count():
                ping_sent[number] = time.monotonic()
                if ws.closed:
                    return
                await ws.send_json({"type": "ping", "id": number})
                await asyncio.sleep(0.1)

        reader = asyncio.create_task(read())
        pinger = asyncio.create_task(ping())
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        started = time.monotonic()
        period = 1 / BATCHES_PER_SECOND
        batches = int(seconds * BATCHES_PER_SECOND)
        in_flight: set[asyncio.Task[None]] = set()
        for number in range(batches):
            due = started + number * period
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            ts = int(time.time() * 1000)
            # every second one alert plug crosses the limit; the next batch brings it back
            second, phase = divmod(number, BATCHES_PER_SECOND)
            hot = devices[second % ALERT_PLUGS] if phase == 0 and ALERT_PLUGS else None
            samples = [
                {"device_id": device, "ts": ts, "power": 2 * LIMIT_W if device == hot else 10.0,
                 "voltage": 230.0, "current": 0.05, "energy": 1.0 + number / 1000,
                 "relay": "ON"}
                for device in devices
            ]  # fmt: skip
            sent = time.monotonic()
            batch_sent[ts] = sent
            if hot is not None:
                breach_sent[hot] = sent
            found.sent += len(samples)

            async def post(body: dict[str, Any], at: float) -> None:
                await ingest.call("POST", "/api/v1/ingest/batch", link, json=body)
                found.request.append((time.monotonic() - at) * 1000)
                found.slowest.append(((time.monotonic() - at) * 1000, at - started))

            task = asyncio.create_task(post({"samples": samples}, sent))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        await asyncio.sleep(1)  # the last updates arrive
        found.seconds = time.monotonic() - started
        found.server_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        if found.closed is not None:
            raise RuntimeError(f"the server closed the socket ({found.closed})")
        for task in (pinger, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return found


async def run_backend(
    backend: str, seconds: float, postgres: PostgresServer | None, server_env: dict[str, str]
) -> Timings:
    env = {**FAST_ARGON2, "GREENNET_SECRET": SECRET, "GREENNET_LOG_LEVEL": "WARNING",
           "GREENNET_ACCESS_LOG": "false", "GREENNET_REGISTER_PER_ADDRESS": "1000000",
           **server_env}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="greennet-live-bench-") as tmp:
        if postgres is not None:
            env["GREENNET_DATABASE_URL"] = postgres.create_database("bench_live")
            servers = [LiveServer(env=env), LiveServer(env=env)]
        else:
            servers = [LiveServer(env=env, cwd=Path(tmp))]
        try:
            for server in servers:
                server.start()
            pids = [server.proc.pid for server in servers if server.proc is not None]
            async with aiohttp.ClientSession() as http:
                ingest = Cloud(http, servers[0].base_url)
                live = Cloud(http, servers[-1].base_url)
                return await measure(ingest, live, seconds, pids)
        finally:
            for server in servers:
                server.cleanup()


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"


async def run(args: argparse.Namespace) -> str:
    seconds = 10.0 if args.quick else 30.0
    rows: list[tuple[str, Timings]] = []
    postgres: PostgresServer | None = None
    try:
        for backend in args.only or ["sqlite", "postgresql"]:
            if backend == "postgresql" and postgres is None:
                postgres = PostgresServer()
                postgres.start()
            print(f"[{backend}] {seconds:.0f} s at {PLUGS * BATCHES_PER_SECOND} samples/s…",
                  flush=True)  # fmt: skip
            server_env = dict(item.split("=", 1) for item in args.server_env)
            timings = await run_backend(
                backend, seconds, postgres if backend != "sqlite" else None, server_env
            )
            rows.append((backend, timings))
            print(f"[{backend}] reading p50/p99 {fmt(timings.reading)} ms, alert"
                  f" {fmt(timings.alert)} ms, ping {fmt(timings.ping)} ms", flush=True)  # fmt: skip
            worst = sorted(timings.slowest, reverse=True)[:8]
            print(f"[{backend}] slowest batch requests (ms @ s): "
                  + ", ".join(f"{ms:.0f} @ {at:.1f}" for ms, at in worst), flush=True)  # fmt: skip
    finally:
        if postgres is not None:
            postgres.stop()
    day = datetime.now(UTC).date().isoformat()
    flags = " ".join(
        [*(f for f, on in (("--quick", args.quick),) if on),
         *(f"--only {name}" for name in args.only or []),
         *(f"--server-env {item}" for item in args.server_env)]
    )  # fmt: skip
    lines = [
        f"### Live updates{' (quick)' if args.quick else ''} ({day}, commit {git_rev()})",
        "",
        machine_info() + f"; {seconds:.0f} s per database; load generator, websocket client"
        " and server(s) share the machine's cores",
        "",
        f"`.venv-cloud/bin/python -m bench.live_bench {flags}`".replace(" `", "`"),
        "",
        "| database | samples sent / received | ingest → client p50 / p99 ms | alert p50 / p99 ms"
        " (n) | its notification p50 / p99 ms | baseline: ws ping p50 / p99 ms"
        " | batch request p50 / p99 ms | p99 ÷ ping p99 | server CPU % |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for backend, t in rows:
        ratio = percentile(t.reading, 99) / max(percentile(t.ping, 99), 0.001) if t.reading else 0
        cpu = 100 * t.server_cpu / t.seconds if t.seconds else 0
        label = backend if backend == "sqlite" else f"{backend} (2 processes)"
        lines.append(
            f"| {label} | {t.sent:,} / {t.received:,} | {fmt(t.reading)} |"
            f" {fmt(t.alert)} ({len(t.alert)}) | {fmt(t.notification)} | {fmt(t.ping)} |"
            f" {fmt(t.request)} | {ratio:.1f} | {cpu:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per database instead of 30")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--only", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra GREENNET_* settings for the servers")  # fmt: skip
    args = parser.parse_args()
    record_results(asyncio.run(run(args)), args.write)


if __name__ == "__main__":
    main()
