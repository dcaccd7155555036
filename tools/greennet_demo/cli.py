"""Start broker, GreenNet Cloud, simulated plugs and a real Home Assistant; print where."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from greennet_sim import Simulator, SimulatorConfig
from greennet_sim.plug import MODEL

from .cloud import (
    DEMO_HOME,
    authenticated_get,
    bearer_session,
    call,
    dashboard_served,
    demo_login,
    ensure_demo_home,
)
from .home_assistant import DASHBOARD_PATH, HomeAssistantClient, greennet_key
from .services import (
    BROKERS,
    REPO,
    Process,
    free_port,
    port_open,
    prepare_ha_config,
    start_broker,
    start_cloud,
    start_home_assistant,
    wait_http,
    wait_port,
)

MQTT_USER, MQTT_PASSWORD = "greennet", "greennet-demo-mqtt"
HA_USER, HA_PASSWORD = "demo", "greennet-demo"
CLOUD_EMAIL, CLOUD_PASSWORD = "demo@greennet.example", "greennet-demo-2026"
PLUGS = 5


def watch_command(broker: str, port: int) -> str:
    """A shell command that prints every plug message, for the broker in use."""
    if broker == "amqtt":
        return (
            f".venv/bin/amqtt_sub --url mqtt://{MQTT_USER}:{MQTT_PASSWORD}@127.0.0.1:{port} "
            "-t 'greennet/#'"
        )
    return (
        f"mosquitto_sub -h 127.0.0.1 -p {port} -v -t 'greennet/#' -u {MQTT_USER} -P {MQTT_PASSWORD}"
    )


def step(number: int, text: str) -> None:
    """Progress line."""
    print(f"[{number}/6] {text}", flush=True)


async def wait_for_entities(ha: HomeAssistantClient, plugs: int, timeout: float) -> None:
    """Until every plug has a numeric power reading in HA."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = await ha.states()
        powers = [
            s
            for s in states.values()
            if s["entity_id"].startswith("sensor.")
            and s["attributes"].get("device_class") == "power"
            and s["state"] not in ("unknown", "unavailable")
        ]
        entities = {e["entity_id"] for e in await ha.greennet_entities()}
        if len([s for s in powers if s["entity_id"] in entities]) >= plugs:
            return
        await asyncio.sleep(1)
    raise RuntimeError("GreenNet entities did not appear in Home Assistant")


async def cloud_checks(
    ha: HomeAssistantClient, sim: Simulator, cloud_base: str, cloud_token: str, home_id: str
) -> None:
    """The cloud sees the plugs live through the link and switches one through its API."""
    path = f"/api/v1/homes/{home_id}/devices"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        devices = await authenticated_get(cloud_base, cloud_token, path)
        if len(devices) == len(sim.plugs) and all(d["online"] for d in devices):
            break
        await asyncio.sleep(1)
    else:
        raise RuntimeError(f"the cloud does not see the plugs live: {devices}")
    print(f"  ok: Home Assistant is linked: {len(devices)} plugs live in GreenNet Cloud")
    device = devices[0]
    plug = sim.plug(device["plug_id"])
    want = "OFF" if plug.state.relay else "ON"
    async with bearer_session(cloud_token) as session:
        answer = await call(
            session,
            "POST",
            f"{cloud_base}/api/v1/devices/{device['id']}/relay",
            json={"state": want},
        )
    if answer.get("relay") != want or plug.state.relay is not (want == "ON"):
        raise RuntimeError(f"remote relay command not confirmed: {answer}")
    print(f"  ok: switched {plug.id} {want} through the cloud API (confirmed by the plug)")
    sensors = await ha.energy_devices()
    energy = [e["entity_id"] for e in await ha.greennet_entities() if greennet_key(e) == "energy"]
    if sorted(sensors) != sorted(energy) or len(energy) != len(sim.plugs):
        raise RuntimeError(f"Energy dashboard devices {sensors} are not the plugs' {energy}")
    print(f"  ok: the Energy dashboard shows the {len(energy)} plugs' energy sensors")


async def headless_checks(
    ha: HomeAssistantClient, sim: Simulator, cloud_base: str, cloud_token: str
) -> None:
    """Prove the system works end to end; raise on the first thing that does not."""
    entities = await ha.greennet_entities()
    devices = await ha.greennet_devices()
    power_ids = [e["entity_id"] for e in entities if greennet_key(e) == "power"]
    before = {k: v["state"] for k, v in (await ha.states()).items() if k in power_ids}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        now = {k: v["state"] for k, v in (await ha.states()).items() if k in power_ids}
        if any(now[k] != before[k] for k in before):
            print("  ok: live power values change in Home Assistant")
            break
    else:
        raise RuntimeError(f"power values never changed: {before}")

    switch = next(e for e in entities if e["entity_id"].startswith("switch."))
    plug = sim.plug(devices[switch["device_id"]])
    target = "turn_off" if plug.state.relay else "turn_on"
    want = not plug.state.relay
    await ha.call("switch", target, {"entity_id": switch["entity_id"]})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = (await ha.states())[switch["entity_id"]]["state"]
        if plug.state.relay == want and state == ("on" if want else "off"):
            print(f"  ok: {switch['entity_id']} {target} reached plug {plug.id} and came back")
            break
        await asyncio.sleep(0.3)
    else:
        raise RuntimeError(f"relay command did not round-trip (plug relay {plug.state.relay})")

    homes: list[dict[str, Any]] = await authenticated_get(cloud_base, cloud_token, "/api/v1/homes")
    home = next(h for h in homes if h["name"] == DEMO_HOME)
    path = f"/api/v1/homes/{home['id']}/devices"
    cloud_plugs: list[dict[str, Any]] = await authenticated_get(cloud_base, cloud_token, path)
    if {d["plug_id"] for d in cloud_plugs} != {p.id for p in sim.plugs}:
        raise RuntimeError(f"the cloud's demo home lacks plugs: {cloud_plugs}")
    print(
        f"  ok: GreenNet Cloud answers the demo account ({len(cloud_plugs)} plugs in {DEMO_HOME})"
    )
    await dashboard_served(cloud_base)
    print("  ok: GreenNet Cloud serves its web dashboard")


async def run(args: argparse.Namespace) -> int:
    """The demo; returns the process exit code."""
    workdir: Path = args.dir
    headless: bool = args.headless
    ports = {
        "mqtt": args.mqtt_port or (free_port() if headless else 1883),
        "cloud": args.cloud_port or (free_port() if headless else 8100),
        "ha": args.ha_port or (free_port() if headless else 8123),
    }
    for name, port in ports.items():
        if port_open(port):
            print(f"port {port} ({name}) is taken: pass --{name}-port", file=sys.stderr)
            return 2
    processes: list[Process] = []
    sim: Simulator | None = None
    try:
        broker, process = start_broker(
            args.broker, workdir / "mqtt", ports["mqtt"], MQTT_USER, MQTT_PASSWORD
        )
        processes.append(process)
        step(1, f"MQTT broker ({broker}) on 127.0.0.1:{ports['mqtt']}")
        await wait_port(process, ports["mqtt"], 30)

        step(2, f"GreenNet Cloud on http://127.0.0.1:{ports['cloud']}")
        cloud_base = f"http://127.0.0.1:{ports['cloud']}"
        processes.append(start_cloud(workdir, ports["cloud"]))
        await wait_http(processes[-1], cloud_base + "/healthz", 60)
        cloud_token = await demo_login(cloud_base, CLOUD_EMAIL, CLOUD_PASSWORD)

        step(3, f"{PLUGS} simulated plugs")
        sim = Simulator(
            SimulatorConfig(
                port=ports["mqtt"],
                username=MQTT_USER,
                password=MQTT_PASSWORD,
                count=PLUGS,
                interval=1 if headless else 2,
                state_file=workdir / "sim-state.json",
            )
        )
        await sim.start()
        await sim.wait_online(20)
        home_id, _ = await ensure_demo_home(
            cloud_base, cloud_token, [(plug.id, plug.name, MODEL) for plug in sim.plugs]
        )

        step(4, f"Home Assistant on http://127.0.0.1:{ports['ha']} (first start takes a while)")
        ha_dir = workdir / "ha"
        prepare_ha_config(ha_dir, ports["ha"])
        processes.append(start_home_assistant(ha_dir, workdir / "logs"))
        ha_base = f"http://127.0.0.1:{ports['ha']}"
        await wait_http(processes[-1], ha_base + "/manifest.json", 240)

        async with aiohttp.ClientSession() as session:
            ha = HomeAssistantClient(ha_base, session)
            step(5, "onboarding Home Assistant, adding GreenNet, linking it to GreenNet Cloud")
            await ha.onboard_or_login(HA_USER, HA_PASSWORD)
            await ha.ensure_greennet_entry(
                {
                    "host": "127.0.0.1",
                    "port": ports["mqtt"],
                    "username": MQTT_USER,
                    "password": MQTT_PASSWORD,
                    "prefix": "greennet",
                    "tls": False,
                }
            )
            await wait_for_entities(ha, PLUGS, 60)
            await ha.ensure_dashboard()
            await ha.ensure_energy_dashboard()
            await ha.ensure_cloud_link(cloud_base, CLOUD_EMAIL, CLOUD_PASSWORD, home_id)

            step(6, "ready")
            print(
                f"""
  Home Assistant   {ha_base}/{DASHBOARD_PATH}   login: {HA_USER} / {HA_PASSWORD}
  GreenNet Cloud   {cloud_base}/app/   login: {CLOUD_EMAIL} / {CLOUD_PASSWORD}
                   API: {cloud_base}/api/v1/openapi.json
                   "{DEMO_HOME}" is linked to Home Assistant: switch a plug remotely with
                   POST /api/v1/devices/<device id>/relay {{"state": "TOGGLE"}}
  MQTT broker      127.0.0.1:{ports["mqtt"]} ({broker})   user: {MQTT_USER} / {MQTT_PASSWORD}
  Watch the plugs: {watch_command(broker, ports["mqtt"])}
  Logs in {workdir / "logs"}. Ctrl-C stops everything.
""",
                flush=True,
            )
            if headless:
                await headless_checks(ha, sim, cloud_base, cloud_token)
                await cloud_checks(ha, sim, cloud_base, cloud_token, home_id)
                print("demo: all checks passed")
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            return 0
    except Exception as err:  # any failure ends the demo with its reason
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", flush=True)
        if sim is not None:
            with contextlib.suppress(Exception):
                await sim.stop()
        for process in reversed(processes):
            process.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point of `scripts/demo`."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument(
        "--headless",
        action="store_true",
        help="check the running system end to end, then exit (0 = all good)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=REPO / "demo",
        help="where the demo keeps its state (git-ignored)",
    )
    parser.add_argument(
        "--broker",
        choices=BROKERS,
        default="auto",
        help="MQTT broker: Mosquitto when installed, else the pure-Python amqtt (default auto)",
    )
    parser.add_argument("--mqtt-port", type=int)
    parser.add_argument("--cloud-port", type=int)
    parser.add_argument("--ha-port", type=int)
    sys.exit(asyncio.run(run(parser.parse_args(argv))))
