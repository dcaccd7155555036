"""Remote relay round trip end to end: API → GreenNet Cloud → a real linked Home Assistant →
broker → plug → confirmed (the cloud side alone, with a test hub: bench/link_bench.py).

Real processes: Mosquitto, simulated plugs, `hass` with GreenNet linked to the cloud in its
options flow (as a user links it), and `greennet-cloud serve` on SQLite, or (`--postgres`)
two processes on one PostgreSQL where the API call lands on the process *not* holding the
link (the command crosses PostgreSQL NOTIFY both ways). Each `POST /devices/{id}/relay`
TOGGLE is timed from request to the 200 carrying the plug's confirmed state. Baselines in
the same run: an authenticated cloud read (`GET /api/v1/devices/{id}`) and Home Assistant's
own relay round trip (service call → plug → confirmed switch state).

    .venv/bin/python -m bench.remote_bench [--samples 200] [--postgres] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from greennet_demo.services import Process, cloud_bin, free_port, spawn, wait_http
from greennet_sim import Simulator, SimulatorConfig

from bench.ha_bench import relay_round_trip
from bench.harness import (
    MQTT_PASSWORD,
    MQTT_USER,
    Rig,
    cpu_seconds,
    git_rev,
    machine_info,
    record_results,
    summary,
)
from tests.backend.postgres import PostgresServer

EMAIL, PASSWORD = "bench@greennet.example", "bench-link-password-2026"
PLUGS = 5
# Between two commands, as in ha_bench (a person does not toggle a plug every millisecond);
# a second series sends them back to back.
PAUSE = 0.1
SECRET = "bench-link-signing-secret-" + "x" * 40


def start_clouds(workdir: Path, database_url: str | None) -> list[tuple[Process, str]]:
    """One cloud process (SQLite), or two on one PostgreSQL database."""
    env = {"GREENNET_ACCESS_LOG": "0", "GREENNET_SECRET": SECRET}
    if database_url:
        env["GREENNET_DATABASE_URL"] = database_url
    clouds = []
    for index in range(2 if database_url else 1):
        port = free_port()
        args = [str(cloud_bin() / "greennet-cloud"), "serve", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--data-dir", str(workdir / f"cloud-{index}")]
        clouds.append(
            (spawn(f"cloud-{index}", args, workdir / "logs", env), f"http://127.0.0.1:{port}")
        )
    return clouds


async def account(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    """Register and log in; the bearer header."""
    body = {"email": EMAIL, "password": PASSWORD}
    async with session.post(base + "/api/v1/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
    async with session.post(base + "/api/v1/auth/login", json=body) as resp:
        return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


async def timed(
    session: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[float, Any]:
    """One request; (ms, JSON answer); raises unless 200."""
    t0 = time.perf_counter()
    async with session.request(method, url, **kw) as resp:
        body = await resp.json()
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            raise RuntimeError(f"{method} {url} -> {resp.status}: {body}")
    return elapsed, body


async def run(samples: int, postgres: bool) -> dict[str, Any]:
    """One deployment: the figures."""
    with tempfile.TemporaryDirectory(prefix="greennet-remote-bench-") as tmp:
        workdir = Path(tmp)
        pg = PostgresServer() if postgres else None
        rig = Rig(workdir)
        sim: Simulator | None = None
        clouds: list[tuple[Process, str]] = []
        try:
            url = None
            if pg is not None:
                pg.start()
                url = pg.create_database("greennet_link_bench")
            clouds = start_clouds(workdir, url)
            for process, base in clouds:
                await wait_http(process, base + "/healthz", 60)
            link_base, api_base = clouds[0][1], clouds[-1][1]
            ha = await rig.start()
            sim = Simulator(
                SimulatorConfig(
                    port=rig.mqtt_port, username=MQTT_USER, password=MQTT_PASSWORD,
                    count=PLUGS, interval=5,
                )
            )  # fmt: skip
            await sim.start()
            await sim.wait_online(30)
            await ha.run_config_flow(
                "greennet",
                {"host": "127.0.0.1", "port": rig.mqtt_port, "username": MQTT_USER,
                 "password": MQTT_PASSWORD, "prefix": "greennet", "tls": False},
            )  # fmt: skip
            async with aiohttp.ClientSession() as session:
                auth = await account(session, api_base)
                async with session.post(
                    api_base + "/api/v1/homes", json={"name": "Bench home"}, headers=auth
                ) as resp:
                    home = await resp.json()
                await ha.ensure_cloud_link(link_base, EMAIL, PASSWORD, home["id"])
                devices_url = f"{api_base}/api/v1/homes/{home['id']}/devices"
                deadline = time.monotonic() + 60
                devices: list[dict[str, Any]] = []
                while time.monotonic() < deadline and len(devices) < PLUGS:
                    async with session.get(devices_url, headers=auth) as resp:
                        devices = await resp.json()
                    await asyncio.sleep(0.5)
                assert len(devices) == PLUGS, devices
                device = devices[0]
                relay_url = f"{api_base}/api/v1/devices/{device['id']}/relay"
                read_url = f"{api_base}/api/v1/devices/{device['id']}"
                for _ in range(10):  # warm up both paths
                    await timed(session, "POST", relay_url, headers=auth, json={"state": "TOGGLE"})
                    await timed(session, "GET", read_url, headers=auth)
                cloud_pids = [process.proc.pid for process, _ in clouds]
                cpu0 = [cpu_seconds(pid) for pid in cloud_pids]
                ha_cpu0 = cpu_seconds(rig.ha_pid)
                plug = sim.plug(device["plug_id"])
                series: dict[float, list[float]] = {PAUSE: [], 0.0: []}
                for pause, remote in series.items():
                    for _ in range(samples):
                        ms, answer = await timed(
                            session, "POST", relay_url, headers=auth, json={"state": "TOGGLE"}
                        )
                        if answer["relay"] != ("ON" if plug.state.relay else "OFF"):
                            raise RuntimeError(f"answer {answer} is not the plug's state")
                        remote.append(ms)
                        await asyncio.sleep(pause)
                commands = 2 * samples
                cloud_cpu = sum(cpu_seconds(p) - c for p, c in zip(cloud_pids, cpu0, strict=True))
                ha_cpu = cpu_seconds(rig.ha_pid) - ha_cpu0
                reads = [
                    (await timed(session, "GET", read_url, headers=auth))[0] for _ in range(samples)
                ]
            switch = next(
                e["entity_id"]
                for e in await ha.greennet_entities()
                if e["entity_id"].startswith("switch.")
                and e["unique_id"] == f"{device['plug_id']}_relay"
            )
            local = await relay_round_trip(rig, switch, min(samples, 50))
            return {
                "database": "PostgreSQL, 2 processes" if postgres else "SQLite, 1 process",
                "remote": summary(series[PAUSE]),
                "back_to_back": summary(series[0.0]),
                "read": summary(reads),
                "local": summary(local),
                "cloud_cpu_ms": cloud_cpu * 1000 / commands,
                "ha_cpu_ms": ha_cpu * 1000 / commands,
            }
        finally:
            if sim is not None:
                await sim.stop()
            await rig.stop()
            for process, _ in reversed(clouds):
                process.stop()
            if pg is not None:
                pg.stop()


def report(results: list[dict[str, Any]], command: str, samples: int) -> str:
    """Markdown section for bench/RESULTS.md."""
    rows = [
        "| cloud | remote relay round trip p50 / p99 ms | back to back p50 / p99 ms | "
        "cloud read p50 / p99 ms | HA-local relay round trip p50 / p99 ms | "
        "cloud CPU ms / command | HA CPU ms / command |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        rows.append(
            f"| {r['database']} | {r['remote']['p50']:.1f} / {r['remote']['p99']:.1f} | "
            f"{r['back_to_back']['p50']:.1f} / {r['back_to_back']['p99']:.1f} | "
            f"{r['read']['p50']:.1f} / {r['read']['p99']:.1f} | "
            f"{r['local']['p50']:.1f} / {r['local']['p99']:.1f} | "
            f"{r['cloud_cpu_ms']:.2f} | {r['ha_cpu_ms']:.2f} |"
        )
    return (
        f"### Remote relay round trip: API → cloud → HA → plug → confirmed "
        f"({time.strftime('%Y-%m-%d')}, commit {git_rev()})\n\n{machine_info()}\n\n"
        f"`{command}` ({samples} TOGGLEs {PAUSE * 1000:.0f} ms apart and {samples} back to "
        "back per row; goal p50 ≤ 30 ms, p99 ≤ 100 ms)\n\n" + "\n".join(rows) + "\n"
    )


async def main() -> None:
    """Measure, print, and optionally record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="also two processes on PostgreSQL")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    results = [await run(args.samples, postgres=False)]
    if args.postgres:
        results.append(await run(args.samples, postgres=True))
    text = report(results, "python -m bench.remote_bench " + " ".join(sys.argv[1:]), args.samples)
    record_results(text, args.write)


if __name__ == "__main__":
    asyncio.run(main())
